import CurlHTTP
import Foundation
@testable import MixerAI
import Sandbox
import Secrets
import Testing
import TestSupport

func makeClient(_ sandbox: SandboxProcess, email: String = "mixer-sync@example.com", password: String = "sandbox-password",
                timeout: Duration = .seconds(10), refreshMargin: Double = 60, url: String? = nil,
                caFile: String? = nil) throws -> MixerAIClient {
    let base = url ?? "http://127.0.0.1:\(sandbox.port)"
    var connection = MixerAIConnection(baseURL: base, supabaseURL: base, anonKey: Secret(bytes: Array("sandbox-anon-key".utf8)),
                                       projectRef: "sandbox", serviceEmail: email,
                                       servicePassword: Secret(bytes: Array(password.utf8)),
                                       transport: CurlOptions(caFile: caFile, totalTimeout: timeout))
    connection.refreshMargin = refreshMargin
    return try MixerAIClient(connection: connection)
}

func requests(_ sandbox: SandboxProcess) throws -> [JSONValue] {
    try sandbox.hook("GET", "requests")["requests"]?.array ?? []
}

@Suite struct MixerAIClientTests {
    @Test func signsInAndReadsEveryUserAndBrand() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let me = try await client.me()
        #expect(me.email == "mixer-sync@example.com")
        let users = try await client.listUsers(pageSize: 3)
        #expect(users.count == 9, "inactive users included, short pages followed to the empty one")
        #expect(users.contains { $0.email == "gone01@example.com" && $0.isInactive })
        #expect(users.contains { $0.email == "pending@example.com" && $0.isPending })
        let brands = try await client.listBrands()
        #expect(brands.map(\.name).sorted() == ["Brand A", "Brand B", "Brand C"])
        let log = try requests(sandbox)
        #expect(log.filter { $0["path"] == "/auth/v1/token" }.count == 1, "one sign-in, one session reused")
        #expect(log.allSatisfy { $0["status"]?.int != 401 })
    }

    @Test func meNamesTheMissingAdminNotion() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox, email: "app-admin-only@example.com", password: "half-admin-password")
        do {
            _ = try await client.me()
            Issue.record("a half admin passed the check")
        } catch let MixerAIError.permission(message) {
            #expect(message.contains("user_metadata.role"))
            #expect(!message.contains("half-admin-password"))
        }
    }

    @Test func meProvesTheAppAdminThroughTheListNotThroughApiMe() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        // The real service account: /api/me shows no app_metadata, yet the check passes (the list answers it).
        let me = try await makeClient(sandbox).me()
        #expect(me.appAdmin && me.routeAdmin)
        let log = try requests(sandbox)
        #expect(log.contains { $0["path"] == "/api/users" && $0["status"]?.int == 200 }, "the app admin proved by the list")
        // user_metadata says admin, app_metadata does not: the list refuses it, and the error names app_metadata.
        _ = try sandbox.hook("POST", "users", ["email": "route-admin-only@example.com", "password": "route-admin-password",
                                               "full_name": "Route Admin", "role": "admin", "global_role": "editor"])
        do {
            _ = try await makeClient(sandbox, email: "route-admin-only@example.com", password: "route-admin-password").me()
            Issue.record("an account MixerAI's list refuses passed the check")
        } catch let MixerAIError.permission(message) {
            #expect(message.contains("app_metadata.global_role"), "\(message)")
            #expect(!message.contains("user_metadata.role"), "\(message)")
        }
    }

    @Test func aWrongPasswordIsAClearErrorWithoutRetries() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox, password: "wrong-canary")
        await #expect(throws: MixerAIError.self) { _ = try await client.listUsers() }
        let log = try requests(sandbox)
        #expect(log.count == 1)
        #expect(!"\(log)".contains("wrong-canary"))
    }

    @Test func refreshesBeforeExpiry() async throws {
        let sandbox = try SandboxProcess(["--token-ttl", "3"])
        defer { sandbox.stop() }
        let client = try makeClient(sandbox, refreshMargin: 2)
        _ = try await client.listBrands()
        try await Task.sleep(for: .milliseconds(1500))
        _ = try await client.listBrands()
        let log = try requests(sandbox)
        #expect(log.contains { $0["path"] == "/auth/v1/token" && $0["query"]?["grant_type"] == "refresh_token" })
        #expect(log.allSatisfy { $0["status"]?.int != 401 })
    }

    @Test func signsInAgainOnceAfterA401() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        _ = try await client.listBrands()
        _ = try sandbox.hook("POST", "settings", ["server_refresh": false])
        _ = try sandbox.hook("POST", "expire-tokens", ["revoke_refresh": true])
        // The client's own clock still thinks the token is fresh: MixerAI's 401 is what it learns from.
        _ = try await client.listBrands()
        #expect(await client.signIns == 2)
    }

    @Test func a401OnEveryCallEndsWithoutARetryStorm() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/", "kind": "status", "status": 401, "times": 1000,
                                                "body": ["success": false, "error": "Unauthorized", "code": "AUTH_REQUIRED"]])
        let client = try makeClient(sandbox)
        do {
            _ = try await client.listUsers()
            Issue.record("succeeded against 401s")
        } catch let MixerAIError.authentication(message) {
            #expect(message.contains("401"))
        }
        let api = try requests(sandbox).filter { ($0["path"]?.string ?? "").hasPrefix("/api/") }
        #expect(api.count == 2, "one call, one re-sign-in, one retry — then a clear error")
    }

    @Test func everyMutationCarriesTheCSRFPair() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let outcome = try await client.invite(InviteRequest(email: "csrf@example.com", role: "viewer"))
        guard case .invited(let id) = outcome else { Issue.record("not invited: \(outcome)"); return }
        try await client.deactivate(userId: id)
        try await client.reactivate(userId: id)
        try await client.update(userId: id, to: UserUpdate(fullName: "C S", jobTitle: "T", company: "Co", role: "viewer", brands: []))
        try await client.delete(userId: id)
        let mutations = try requests(sandbox).filter { $0["method"] != "GET" && ($0["path"]?.string ?? "").hasPrefix("/api/") }
        #expect(mutations.count == 5)
        #expect(mutations.allSatisfy { $0["csrf_matches"] == true && $0["status"]?.int == 200 })
    }

    @Test func existingUsersAreAdoptedNotFailed() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        #expect(try await client.invite(InviteRequest(email: "User00010@example.com", role: "editor")) == .adopted(userId: kai))
        let brandB = try #require(try await client.listBrands().first { $0.name == "Brand B" }?.id)
        #expect(try await client.invite(InviteRequest(email: "user00010@example.com", role: "editor", brandId: brandB))
                == .adopted(userId: kai))
    }

    @Test func updateSendsTheFullStateAndNeverBlanks() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        let brandA = try #require(try await client.listBrands().first { $0.name == "Brand A" }?.id)
        try await client.update(userId: kai, to: UserUpdate(fullName: "Kai Lee", jobTitle: "Lead Writer", company: "Example Ltd",
                                                            role: "editor", brands: [.init(brandId: brandA, role: "admin")]))
        let put = try #require(try requests(sandbox).first { $0["method"] == "PUT" })
        for key in ["full_name", "job_title", "company", "role", "brand_permissions"] {
            #expect(put["body"]?[key] != nil, "PUT carries \(key)")
        }
        let user = try #require(try sandbox.user(email: "user00010@example.com"))
        #expect(user["profile"]?["job_title"] == "Lead Writer")
    }

    @Test func aDroppedConnectionAfterAnAppliedInviteLeavesExactlyOneInvite() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/invite", "kind": "drop"])
        let client = try makeClient(sandbox)
        let outcome = try await client.invite(InviteRequest(email: "once@example.com", role: "viewer"))
        let id = try #require(try sandbox.user(email: "once@example.com")?["id"]?.string)
        #expect(outcome == .invited(userId: id))
        let posts = try requests(sandbox).filter { $0["path"] == "/api/users/invite" }
        #expect(posts.count == 1, "read back through the list, never a second invite")
    }

    @Test func a500BurstOnAnIdempotentCallIsRetriedThenReported() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/\(kai)/deactivate", "status": 500, "times": 2,
                                                "body": ["success": false, "error": "Error deactivating user", "code": "UNKNOWN"]])
        try await client.deactivate(userId: kai)
        #expect(try sandbox.user(email: "user00010@example.com")?["user_metadata"]?["status"] == "inactive")
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/\(kai)/reactivate", "status": 500, "times": 10,
                                                "body": ["success": false, "error": "Error reactivating user", "code": "user_not_found"]])
        do {
            try await client.reactivate(userId: kai)
            Issue.record("a persistent 500 passed")
        } catch let MixerAIError.refused(status, code, _, _, _) {
            #expect(status == 500)
            #expect(code == "user_not_found")
        }
    }

    @Test func anAnswerSlowerThanTheTimeoutIsRetriedWhenIdempotent() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        _ = try sandbox.hook("POST", "faults", ["path_prefix": "/api/users/\(kai)/deactivate", "kind": "delay", "delay_ms": 2500])
        let client = try makeClient(sandbox, timeout: .seconds(1))
        try await client.deactivate(userId: kai)
        #expect(try sandbox.user(email: "user00010@example.com")?["user_metadata"]?["status"] == "inactive")
    }

    @Test func resendInviteIsNeverSentForAnUnknownEmail() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        await #expect(throws: MixerAIError.self) { try await client.resendInvite(email: "stranger@example.com") }
        #expect(try sandbox.user(email: "stranger@example.com") == nil)
        #expect(try requests(sandbox).allSatisfy { $0["path"] != "/api/users/resend-invite" })
        try await client.resendInvite(email: "pending@example.com")
    }
}

@Suite struct WriteBudgetTests {
    @Test func fortyWritesUnderTenPerTenSecondsMeetNo429() async throws {
        let sandbox = try SandboxProcess(["--sensitive-limit", "10", "--sensitive-window", "10"])
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        for i in 0..<40 {
            if i % 2 == 0 { try await client.deactivate(userId: kai) } else { try await client.reactivate(userId: kai) }
        }
        let writes = try requests(sandbox).filter { ($0["path"]?.string ?? "").hasPrefix("/api/users/") }
        #expect(writes.count == 40)
        #expect(writes.allSatisfy { $0["status"]?.int == 200 }, "zero 429s")
        #expect(await client.budget.refusals == 0)
    }

    @Test func retryAfterParsesSecondsAndHTTPDatesAgainstTheServersClock() {
        #expect(RetryAfter.seconds("120", serverDate: nil) == 120)
        let server = Date(timeIntervalSince1970: 1_795_910_400)  // Sun, 29 Nov 2026 00:00:00 GMT
        #expect(RetryAfter.seconds("Sun, 29 Nov 2026 00:01:30 GMT", serverDate: server) == 90)
        #expect(RetryAfter.seconds("soon", serverDate: server) == nil)
    }

    @Test func theBudgetWaitsForTheResetWhenSpent() {
        var budget = WriteBudget()
        let now = Date()
        budget.update(limit: "50", remaining: "0", reset: ISOTime.string(now.addingTimeInterval(30)), serverDate: now, now: now)
        #expect(budget.wait(now: now) > 29)
        budget.update(limit: "50", remaining: "3", reset: nil, serverDate: now, now: now)
        #expect(budget.wait(now: now) == 0)
        // A server clock 2 minutes ahead: its reset time is shifted back onto our clock.
        budget.update(limit: "50", remaining: "0", reset: ISOTime.string(now.addingTimeInterval(150)),
                      serverDate: now.addingTimeInterval(120), now: now)
        #expect(abs(budget.wait(now: now) - 30) < 1)
    }
}

/// HTTPS to the sandbox behind a TLS listener with the test CA that scripts/test makes.
@Suite struct HTTPSTests {
    static func tls() throws -> (ca: String, cert: String, key: String) {
        guard let dir = ProcessInfo.processInfo.environment["MIXER_SYNC_TEST_DIR"], !dir.isEmpty else {
            throw SandboxProcess.Missing(description: "MIXER_SYNC_TEST_DIR not set: run the tests through scripts/test")
        }
        return (dir + "/tls/ca.pem", dir + "/tls/server.pem", dir + "/tls/server.key")
    }

    @Test func verifiedWithTheCARefusedWithoutItAndOnAWrongHost() async throws {
        let (ca, cert, key) = try Self.tls()
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let proxy = try TLSProxy(targetPort: sandbox.port, certificate: cert, key: key)
        defer { proxy.stop() }
        let good = try makeClient(sandbox, url: "https://127.0.0.1:\(proxy.port)", caFile: ca)
        #expect(try await good.listBrands().count == 3)

        let untrusted = try makeClient(sandbox, url: "https://127.0.0.1:\(proxy.port)", caFile: nil)
        do {
            _ = try await untrusted.listBrands()
            Issue.record("an untrusted certificate was accepted")
        } catch let MixerAIError.transport(error) {
            #expect(error.code == 60, "\(error)")  // CURLE_PEER_FAILED_VERIFICATION
            #expect(error.neverSent)
        }

        let other = try TLSProxy(host: "127.0.0.2", targetPort: sandbox.port, certificate: cert, key: key)
        defer { other.stop() }
        let wrongHost = try makeClient(sandbox, url: "https://127.0.0.2:\(other.port)", caFile: ca)
        do {
            _ = try await wrongHost.listBrands()
            Issue.record("a certificate for another host was accepted")
        } catch let MixerAIError.transport(error) {
            #expect(error.code == 60, "\(error)")
            #expect(error.message.lowercased().contains("127.0.0.2") || error.message.lowercased().contains("match"),
                    "\(error.message)")
        }
    }
}

@Suite struct CookieJarTests {
    @Test func theJarIsPersistedPrivatelyAndReusedAfterARestart() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let jar = FileManager.default.temporaryDirectory.appendingPathComponent("jar-\(UUID().uuidString).txt").path
        let base = "http://127.0.0.1:\(sandbox.port)"
        func connection() -> MixerAIConnection {
            MixerAIConnection(baseURL: base, supabaseURL: base, anonKey: Secret(bytes: Array("sandbox-anon-key".utf8)),
                              projectRef: "sandbox", serviceEmail: "mixer-sync@example.com",
                              servicePassword: Secret(bytes: Array("sandbox-password".utf8)),
                              transport: CurlOptions(cookieJar: jar))
        }
        do {
            let client = try MixerAIClient(connection: connection())
            _ = try await client.listBrands()
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: jar)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let text = try String(contentsOfFile: jar, encoding: .utf8)
        #expect(text.contains("csrf-token"))
        #expect(text.contains("app-session-id"))
        #expect(!text.contains("sandbox-password"))
        // A new process (a restart) keeps the app session instead of opening a sixth one.
        let again = try MixerAIClient(connection: connection())
        _ = try await again.listBrands()
        #expect(try sandbox.user(email: "mixer-sync@example.com")?["app_sessions"]?.int == 1)
    }
}

/// The send gate (docs/high-availability.md) and the User-Agent that tells a pair's hosts apart in MixerAI's logs.
@Suite struct SendGateTests {
    @Test func aRefusedWriteNeverLeavesAndReadsStillGo() async throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try makeClient(sandbox)
        let users = try await client.listUsers(pageSize: 50)
        let target = try #require(users.first { $0.email == "gone01@example.com" })
        let port = ":\(sandbox.port)/"
        // Only this sandbox's URLs are refused: tests beside this one share the process.
        SendGate.install { method, url in url.contains(port) && url.contains("/api/users/") ? "a standby (\(method))" : nil }
        defer { SendGate.install(nil) }
        let before = try requests(sandbox).count
        await #expect {
            try await client.deactivate(userId: target.id)
        } throws: { error in
            guard case MixerAIError.transport(let e) = error else { return false }
            return e.code == SendGate.refusedCode && !e.outcomeUnknown && "\(e)".contains("a standby (POST)")
        }
        let after = try requests(sandbox)
        #expect(!after.dropFirst(before).contains { ($0["path"]?.string ?? "").hasSuffix("/deactivate") }, "nothing reached it")
        _ = try await client.listUsers(pageSize: 50)
        let agent = try #require(try requests(sandbox).last?["user_agent"]?.string)
        #expect(agent == "mixer-sync (\(ProcessInfo.processInfo.hostName); pid \(getpid()))")
    }
}
