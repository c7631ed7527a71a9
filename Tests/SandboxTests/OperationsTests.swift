import Foundation
import Sandbox
import Testing
import TestSupport

/// Rate limits, faults, the request log, persistence and seeds.
@Suite struct OperationsTests {
    @Test func theSensitiveBucketCountsBlocksAndResets() async throws {
        let sandbox = try SandboxProcess(["--sensitive-limit", "3", "--sensitive-window", "2"])
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let path = "/api/users/\(UUID().uuidString.lowercased())"
        var remaining: [String] = []
        for _ in 0..<3 {
            let r = try client.send("GET", path)
            remaining.append(r.header("x-ratelimit-remaining") ?? "?")
            #expect(r.header("x-ratelimit-limit") == "3")
            #expect(r.header("x-ratelimit-reset")?.hasSuffix("Z") == true, "reset is an ISO timestamp")
        }
        #expect(remaining == ["2", "1", "0"])
        let refused = try client.send("GET", path)
        #expect(refused.status == 429)
        #expect(refused.json?["error"] == "Too many sensitive operations. Please wait an hour.")
        #expect(refused.header("retry-after") != nil)
        #expect(refused.json?["retryAfter"]?.int == Int(refused.header("retry-after") ?? ""))
        #expect(try client.send("GET", "/api/users").status == 200, "the list is in the api bucket")
        _ = try client.send("GET", path)
        let third = try client.send("GET", path)  // third violation: blocked for a window
        #expect(third.status == 429)
        #expect(third.header("retry-after").flatMap(Int.init).map { $0 >= 1 && $0 <= 2 } == true)
        try await Task.sleep(for: .milliseconds(2300))
        let after = try client.send("GET", path)
        #expect(after.status != 429, "a new window starts afresh (MixerAI's store drops the entry)")
    }

    @Test func aStatusFaultAnswersWithoutChangingState() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        _ = try sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "nth": 2,
                                                "status": 500, "body": ["success": false, "error": "Failed to invite user",
                                                                       "code": "UNKNOWN"]])
        #expect(try client.send("POST", "/api/users/invite", ["email": "one@example.com", "role": "viewer"]).status == 200)
        let second = try client.send("POST", "/api/users/invite", ["email": "two@example.com", "role": "viewer"])
        #expect(second.status == 500)
        #expect(try sandbox.user(email: "two@example.com") == nil)
        #expect(try client.send("POST", "/api/users/invite", ["email": "two@example.com", "role": "viewer"]).status == 200)
    }

    @Test func aDroppedConnectionAfterTheChangeLeavesItApplied() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/invite", "kind": "drop"])
        let r = try client.send("POST", "/api/users/invite", ["email": "ghost@example.com", "role": "viewer"])
        #expect(r.truncated || r.status == 0, "the answer is lost")
        #expect(try sandbox.user(email: "ghost@example.com") != nil, "but the invite went through")
    }

    @Test func aDelayFaultAppliesThenWaits() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/", "kind": "delay", "delay_ms": 700])
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        let started = Date()
        #expect(try client.send("POST", "/api/users/\(kai)/deactivate").status == 200)
        #expect(Date().timeIntervalSince(started) >= 0.7)
    }

    @Test func theRequestLogRecordsWhatTheClientSent() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        try client.send("POST", "/api/users/invite", ["email": "logged@example.com", "role": "viewer"])
        let log = try #require(try sandbox.hook("GET", "requests")["requests"]?.array)
        let token = try #require(log.first { $0["path"] == "/auth/v1/token" })
        #expect(token["body"]?["password"] == "<redacted>")
        let invite = try #require(log.first { $0["path"] == "/api/users/invite" })
        #expect(invite["method"] == "POST")
        #expect(invite["status"]?.int == 200)
        #expect(invite["csrf_matches"] == true)
        #expect(invite["cookies"]?.array?.contains("sb-sandbox-auth-token") == true)
        #expect(invite["body"]?["email"] == "logged@example.com")
    }

    @Test func stateSurvivesARestart() throws {
        let first = try SandboxProcess()
        var client = try SandboxClient.signIn(port: first.port)
        try client.send("POST", "/api/users/invite", ["email": "durable@example.com", "role": "editor"])
        first.stop()
        let second = try SandboxProcess(stateDirectory: first.stateDirectory)
        defer { second.stop() }
        #expect(try second.user(email: "durable@example.com") != nil)
        var reused = SandboxClient(port: second.port)
        reused.cookies = client.cookies
        #expect(try reused.send("GET", "/api/me").status == 200, "the session token survives too")
    }

    /// A sign-in writes only `sessions.json` (GoTrue writes a session row, not every user); after a restart the
    /// session and `last_sign_in_at` are there, whichever of the two files was written last.
    @Test func aSignInIsKeptWithoutRewritingEveryUser() throws {
        let first = try SandboxProcess()
        let statePath = first.stateDirectory + "/state.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: statePath))
        let early = try SandboxClient.signIn(port: first.port)
        Thread.sleep(forTimeInterval: 0.4)  // past the 100 ms flush delay
        #expect(try Data(contentsOf: URL(fileURLWithPath: statePath)) == before, "a sign-in alone leaves state.json as it was")
        #expect(FileManager.default.fileExists(atPath: first.stateDirectory + "/sessions.json"))
        var writer = try SandboxClient.signIn(port: first.port)
        try writer.send("POST", "/api/users/invite", ["email": "between@example.com", "role": "editor"])
        Thread.sleep(forTimeInterval: 0.4)
        let late = try SandboxClient.signIn(port: first.port)
        first.stop()
        let second = try SandboxProcess(stateDirectory: first.stateDirectory)
        defer { second.stop() }
        for (name, client) in [("before the change", early), ("after it", late)] {
            var reused = SandboxClient(port: second.port)
            reused.cookies = client.cookies
            let me = try reused.send("GET", "/api/me")
            #expect(me.status == 200, "the session signed in \(name) survives")
        }
        let signedIn = try second.user(email: "mixer-sync@example.com")?["last_sign_in_at"]?.string
        #expect(signedIn.flatMap { ISO8601DateFormatter().date(from: String($0.prefix(19)) + "Z") }
            .map { abs($0.timeIntervalSinceNow) < 60 } == true, "last_sign_in_at survives: \(signedIn ?? "none")")
        #expect(try second.user(email: "between@example.com") != nil)
    }

    @Test func aGeneratedSeedLoads() throws {
        let seedPath = FileManager.default.temporaryDirectory.appendingPathComponent("seed-\(UUID().uuidString).json").path
        try Seed.generated(users: 2000, brands: 7).json.text().write(toFile: seedPath, atomically: true, encoding: .utf8)
        let sandbox = try SandboxProcess(["--seed", seedPath])
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let first = try client.send("GET", "/api/users?page=1&pageSize=100&includeInactive=true")
        #expect(first.json?["pagination"]?["total"]?.int == 2001)
        #expect(try client.send("GET", "/api/brands?limit=all").json?["data"]?.array?.count == 7)
    }
}
