import Foundation
import Sandbox
import Testing
import TestSupport

/// The SCIM bridge in `mixer-sync run` (docs/scim.md), driven with Entra ID's and Okta's documented request
/// sequences against the sandbox: a pushed user is matched or invited, a mapped group gives the role, a
/// deactivation offboards at once through the fast path, a mass unassignment is held.
@Suite(.serialized) struct SCIMBridgeTests {
    /// A deployment with `source = "scim"`: the sandbox, the config, the token.
    final class Bridge: @unchecked Sendable {
        let folder: String
        let sandbox: SandboxProcess
        let port = DaemonProcessTests.freePort()
        let token = "scim-token-" + UUID().uuidString
        var daemon: DaemonProcess?

        init(seedUsers: [JSONValue], maxDeactivations: Int = 10, maxPercent: Int = 100, rateLimit: Int = 200,
             tls: Bool = false) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("mixer-sync-scim-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let seed: JSONValue = [
                "brands": [["name": "Brand A"], ["name": "Brand B"]],
                "users": .array([["email": "mixer-sync@example.com", "password": "sandbox-password", "full_name": "mixer-sync",
                                  "role": "admin", "global_role": "admin"]] + seedUsers),
            ]
            try seed.text().write(toFile: folder + "/seed.json", atomically: true, encoding: .utf8)
            sandbox = try SandboxProcess(["--seed", folder + "/seed.json"])
            try "sandbox-password\n".write(toFile: folder + "/mixerai-password", atomically: true, encoding: .utf8)
            try (token + "\n").write(toFile: folder + "/scim-token", atomically: true, encoding: .utf8)
            chmod(folder + "/mixerai-password", 0o600)
            chmod(folder + "/scim-token", 0o600)
            var tlsKeys = ""
            if tls {
                _ = try CommandLineTests.runShell("openssl req -x509 -newkey rsa:2048 -nodes -keyout \(folder)/scim.key "
                    + "-out \(folder)/scim.crt -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null")
                chmod(folder + "/scim.key", 0o600)
                tlsKeys = "cert_file = \"scim.crt\"\nkey_file = \"scim.key\"\n"
            }
            try """
            source = "scim"

            [scim]
            listen = "127.0.0.1:\(port)"
            token_file = "scim-token"
            plan_delay = "300ms"
            max_request_bytes = 65536
            rate_limit = \(rateLimit)
            \(tlsKeys)

            [[roles]]
            group = "Editors"
            role = "Editor"
            brand = "Brand A"

            \(sandbox.configSection)

            [policy]
            max_deactivations = \(maxDeactivations)
            max_deactivations_percent = \(maxPercent)
            max_shrink_percent = \(maxPercent)

            [state]
            directory = "\(folder)/state"

            [report]
            directory = "\(folder)/reports"
            \(World.daemonConfig())
            """.write(toFile: folder + "/mixer-sync.toml", atomically: true, encoding: .utf8)
        }

        func start() async throws {
            let d = try DaemonProcess(config: folder + "/mixer-sync.toml", folder: folder)
            daemon = d
            #expect(await d.waitForLog("scim bridge listening", seconds: 30), "\(d.text.suffix(2000))")
            #expect(await d.waitForLog("full reconcile", seconds: 60), "\(d.text.suffix(2000))")
        }

        @discardableResult
        func scim(_ method: String, _ path: String, _ body: JSONValue? = nil, token: String? = nil) throws -> HTTPResult {
            try HTTP.send(port: port, method, "/scim/v2" + path, headers: ["Authorization": "Bearer \(token ?? self.token)"],
                          body: body?.text())
        }

        func user(_ email: String) throws -> JSONValue? { try sandbox.user(email: email) }

        func inactive(_ email: String) throws -> Bool {
            guard let u = try user(email) else { return false }
            return u["status"]?.string == "inactive" || u["user_metadata"]?["status"]?.string == "inactive"
        }

        func brands(_ email: String) throws -> [String: String] { try World.brands(email, in: sandbox) }

        /// Stops the daemon (its reports must keep the report contract); the sandbox stops in the test's `defer`.
        func stop() async {
            if let daemon { #expect(await daemon.terminate() == 0) }
        }
    }

    static func entraUser(_ email: String, externalId: String) -> JSONValue {
        ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
         "externalId": .string(externalId), "userName": .string(email), "active": true, "displayName": "Ada Lovelace",
         "title": "Engineer",
         "emails": [["primary": true, "type": "work", "value": .string(email)]],
         "name": ["formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"],
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "R&D"]]
    }

    static let patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    /// Entra ID's provisioning cycle: look the user up, create, create the group, add the member, then unassign
    /// (a `Replace` of `active` with "False"): matched, given the group's role, offboarded within seconds.
    @Test func entraProvisionsAndDeprovisions() async throws {
        let b = try Bridge(seedUsers: [["email": "ada@example.com", "full_name": "Ada Lovelace", "role": "viewer",
                                        "global_role": "viewer"]])
        defer { b.sandbox.stop() }  // synchronous: a sandbox left running would hold the test run's output open
        try await b.start()
        #expect(try b.scim("GET", "/Users?filter=userName%20eq%20%22ada@example.com%22").json?["totalResults"]?.number == 0)
        #expect(try b.scim("GET", "/Users", token: "wrong-token-wrong-token").status == 401)
        // Bad input gets SCIM's error and changes nothing: a body over max_request_bytes, malformed JSON, an unknown schema.
        var huge = Self.entraUser("huge@example.com", externalId: "guid-huge")
        huge = .object((huge.object ?? [:]).merging(["title": .string(String(repeating: "x", count: 100_000))]) { _, b in b })
        let tooBig = try b.scim("POST", "/Users", huge)
        #expect(tooBig.status == 413 && tooBig.json?["status"]?.string == "413", "\(tooBig.status)")
        let broken = try HTTP.send(port: b.port, "POST", "/scim/v2/Users", headers: ["Authorization": "Bearer \(b.token)"],
                                   body: "{\"schemas\": [")
        #expect(broken.status == 400 && broken.json?["scimType"]?.string == "invalidSyntax")
        let unknown = try b.scim("POST", "/Users", ["schemas": ["urn:example:unknown"], "userName": "x@example.com"])
        #expect(unknown.status == 400 && unknown.json?["scimType"]?.string == "invalidValue")
        #expect(try b.scim("GET", "/Users").json?["totalResults"]?.number == 0, "nothing stored")
        let created = try b.scim("POST", "/Users", Self.entraUser("ada@example.com", externalId: "guid-ada"))
        #expect(created.status == 201 && created.header("etag") == "W/\"1\"")
        let ada = try #require(created.json?["id"]?.string)
        let bob = try #require(try b.scim("POST", "/Users", Self.entraUser("bob@example.com", externalId: "guid-bob")).json?["id"]?.string)
        let group = try b.scim("POST", "/Groups", ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                   "displayName": "Editors", "externalId": "guid-editors", "members": []])
        let editors = try #require(group.json?["id"]?.string)
        let add = try b.scim("PATCH", "/Groups/\(editors)", ["schemas": [.string(Self.patchOp)], "Operations": [
            ["op": "Add", "path": "members", "value": [["value": .string(ada)], ["value": .string(bob)]]]]])
        #expect(add.status == 200)
        // The debounced full plan: Ada (matched by email) gets Editor on Brand A; Bob is invited with it.
        let adaRole = await DaemonProcess.until(seconds: 30) { try b.brands("ada@example.com") == ["Brand A": "editor"] }
        #expect(adaRole, "\((try? b.brands("ada@example.com")) ?? [:]) \(b.daemon?.text.suffix(3000) ?? "")")
        #expect(await DaemonProcess.until(seconds: 30) { try b.user("bob@example.com") != nil }, "bob invited")
        // Entra unassigns Ada.
        let off = try b.scim("PATCH", "/Users/\(ada)", ["schemas": [.string(Self.patchOp)], "Operations": [
            ["op": "Replace", "path": "active", "value": "False"]]])
        #expect(off.status == 200 && off.json?["active"]?.bool == false)
        #expect(await DaemonProcess.until(seconds: 30) { try b.inactive("ada@example.com") }, "offboarded by the fast path")
        #expect(try b.brands("ada@example.com").isEmpty, "roles stripped")
        let log = b.daemon?.text ?? ""
        #expect(log.contains("change feed") && log.contains("offboarded"), "\(log.suffix(3000))")
        await b.stop()
        // `explain` names the requests that shaped her.
        let explain = try CommandLineTests.run(["explain", "ada@example.com", "--config", b.folder + "/mixer-sync.toml"])
        let text = explain.stdout + explain.stderr
        #expect(text.contains("POST /Users/\(ada): created user ada@example.com"), "\(text)")
        #expect(text.contains("PATCH /Users/\(ada): patched user ada@example.com (active: false)"), "\(text)")
    }

    /// An independent conformance suite, scim2-tester (PyPI, pinned in scripts/lib/scim2-tester.txt; scripts/test
    /// installs it in a venv): discovery, then create, read, query, replace, PATCH add/replace/remove of every
    /// attribute the schemas publish, and delete, of Users and Groups, against the running bridge. No check may fail.
    @Test func scim2TesterReportsNoFailure() async throws {
        let python = try TestDirectory.env("MIXER_SYNC_SCIM_TESTER")
        // It sends as fast as it can and does not retry a 429 (the rate limit is not what it checks).
        let b = try Bridge(seedUsers: [], rateLimit: 100_000)
        defer { b.sandbox.stop() }
        try await b.start()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/lib/scim-conformance.py").path
        let run = try CommandLineTests.runProgram(python, [script, "http://127.0.0.1:\(b.port)/scim/v2", b.folder + "/scim-token"])
        let text = run.stdout + run.stderr
        #expect(run.status == 0, "\(text.suffix(4000))")
        #expect(text.contains("not success: 0") && !text.contains("checks: 0,"), "\(text.suffix(4000))")
        await b.stop()
    }

    /// With `cert_file`/`key_file` the bridge speaks TLS only (a plain HTTP request gets no answer), and a key that
    /// is not a PEM key stops the daemon's start naming the file.
    @Test func tlsWhenACertificateIsGiven() async throws {
        let b = try Bridge(seedUsers: [], tls: true)
        defer { b.sandbox.stop() }
        try await b.start()
        let secure = try CommandLineTests.runShell("curl -sS --cacert \(b.folder)/scim.crt -H 'Authorization: Bearer \(b.token)' "
                                                   + "https://127.0.0.1:\(b.port)/scim/v2/ServiceProviderConfig")
        #expect(secure.contains("authenticationSchemes"), "\(secure)")
        let plain = try CommandLineTests.runShell("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:\(b.port)/scim/v2/Users || true")
        #expect(plain.hasPrefix("000"), "plain HTTP must get no answer: \(plain)")
        await b.stop()
        try "not a key\n".write(toFile: b.folder + "/scim.key", atomically: true, encoding: .utf8)
        let refused = try CommandLineTests.runShell("timeout 20 \(try TestDirectory.env("MIXER_SYNC_BIN")) run --config \(b.folder)/mixer-sync.toml 2>&1; echo exit=$?")
        #expect(refused.contains("scim.key_file") && !refused.contains("exit=0"), "\(refused)")
    }

    /// Okta unassigns a group's worth of people at once (a PUT with `active: false` each): the burst is judged
    /// whole, held by the gate, and nobody is deactivated.
    @Test func oktaMassUnassignmentIsHeld() async throws {
        let names = (1...10).map { "p\($0)@example.com" }
        let b = try Bridge(seedUsers: names.map { ["email": .string($0), "full_name": "P", "role": "editor", "global_role": "editor",
                                                   "brands": ["Brand A": "editor"]] }, maxDeactivations: 3, maxPercent: 30)
        defer { b.sandbox.stop() }  // synchronous: a sandbox left running would hold the test run's output open
        try await b.start()
        var ids: [String] = []
        for n in names {
            let r = try b.scim("POST", "/Users", ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": .string(n),
                                                  "active": true, "emails": [["value": .string(n), "type": "work", "primary": true]]])
            ids.append(try #require(r.json?["id"]?.string))
        }
        let g = try b.scim("POST", "/Groups", ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Editors",
                                               "members": .array(ids.map { ["value": .string($0)] })])
        #expect(g.status == 201)
        #expect(await b.daemon!.waitForLog("full reconcile", count: 2, seconds: 30))
        for (n, id) in zip(names, ids).prefix(4) {
            let r = try b.scim("PUT", "/Users/\(id)", ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": .string(n),
                                                       "active": false, "emails": [["value": .string(n), "type": "work"]]])
            #expect(r.status == 200)
        }
        #expect(await b.daemon!.waitForLog("run.outcome=held", seconds: 15), "\(b.daemon!.text.suffix(3000))")
        try await Task.sleep(for: .seconds(2))
        for n in names { #expect(try !b.inactive(n), "\(n) must stay active while the burst is held") }
        await b.stop()
    }
}
