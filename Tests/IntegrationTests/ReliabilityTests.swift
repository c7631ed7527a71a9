import Foundation
import MixerAI
import Sandbox
import Testing
import TestSupport

/// The reliability matrix (docs/testing.md), the rows no other suite covers, each end to end through the binary against the test slapd and
/// a sandbox, with a fault proxy, sandbox faults, crash points or libfaketime in between. Every test ends with an
/// audit of the sandbox's request log (duplicate invites, deactivations outside the plan) recorded in the
/// reliability ledger that `scripts/reliability` sums. The other rows are covered where they live (the table in
/// `scripts/lib/reliability-rows`).
@Suite(.serialized) struct ReliabilityTests {
    static func daemonSection(feed: String = "off") -> String {
        "[daemon]\nfull_sync_interval = \"1h\"\nchange_feed = \"\(feed)\"\nmetrics_listen = \"127.0.0.1:\(DaemonProcessTests.freePort())\"\n"
    }

    static func people(_ prefix: String, _ count: Int) -> [World.Person] { (1...count).map { World.Person("\(prefix)\($0)") } }

    // MARK: 1, 1b: the directory down or silent

    @Test func row01LDAPDownAtStart() async throws {
        let w = try World(people: Self.people("a", 3), groups: ["editors": ["a1", "a2", "a3"]], extraConfig: Self.daemonSection())
        let closed = try BlackHole()
        closed.close()
        try w.pointDirectory(at: "ldap://127.0.0.1:\(closed.port)")
        let r = try await w.run("apply")
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.outcome == "error")
        #expect((r.report["errors"] as? [String])?.first?.isEmpty == false)
        // The daemon stays up (READY), says why in systemd's STATUS and its log, and tries again later.
        let notify = try DaemonProcessTests.NotifyListener()
        let daemon = try DaemonProcess(w, environment: ["NOTIFY_SOCKET": notify.path])
        #expect(await notify.wait(for: "READY=1", seconds: 30), "\(notify.received)")
        #expect(await daemon.waitForLog("full reconcile failed", seconds: 30), "\(daemon.text)")
        #expect(await notify.wait(for: "STATUS=last run", seconds: 30), "\(notify.received)")
        let status = notify.received.last { $0.contains("STATUS=last run") } ?? ""
        #expect(status.contains(": error,") && status.contains("directory"), "the reason is in STATUS: \(status)")
        try await Task.sleep(for: .seconds(1))
        #expect(daemon.process.isRunning, "a directory that is down does not stop the daemon")
        #expect(await daemon.terminate() == 0)
        #expect(try w.writes().isEmpty)
        try w.audit(row: "1")
    }

    @Test func row01bBlackHole() async throws {
        let w = try World(people: Self.people("b", 2), groups: ["editors": ["b1", "b2"]])
        let proxy = try FaultProxy(targetPort: w.ldapPort, mode: .blackHole)
        defer { proxy.stop() }
        try w.pointDirectory(at: "ldap://127.0.0.1:\(proxy.port)")
        try w.edit("timeout = \"10s\"", "timeout = \"1s\"")
        let started = ContinuousClock.now
        let r = try await w.run("apply")
        let took = ContinuousClock.now - started
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(took < .seconds(30), "a silent server is given up on within its timeouts: \(took)")
        #expect(proxy.traffic.connections >= 1)
        #expect(try w.writes().isEmpty)
        try w.audit(row: "1b")
    }

    // MARK: 2, 3: a read that dies half-way, an empty read, a missing base

    @Test func row02DeathMidPage() async throws {
        let people = Self.people("m", 150)
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], sandboxArguments: ["--sensitive-limit", "100000"])
        let proxy = try FaultProxy(targetPort: w.ldapPort)
        defer { proxy.stop() }
        try w.pointDirectory(at: "ldap://127.0.0.1:\(proxy.port)")
        var r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let before = try w.writes().count
        for mode in [FaultProxy.Mode.resetAfter(20_000), .cutAfter(20_000)] {
            proxy.mode = mode
            r = try await w.run("apply")
            #expect(r.status == 1 || r.status == 3, "\(mode): \(r.stdout)\(r.stderr)")
            #expect(r.outcome == "error" || r.outcome == "held", "\(mode): \(r.outcome)")
            #expect(try w.writes().count == before, "\(mode): a read cut half-way deactivates nobody")
        }
        proxy.mode = .pass
        r = try await w.run("plan")
        #expect(r.status == 0, "nothing was lost: \(r.kinds())")
        try w.audit(row: "2")
    }

    @Test func row03EmptyResultAndMissingBase() async throws {
        let w = try World(people: Self.people("e", 10), groups: ["editors": (1...10).map { "e\($0)" }])
        #expect(try await w.run("apply").status == 0)
        let before = try w.writes().count
        // The filter now matches nobody (success, 0 entries): held, never ten deactivations.
        try w.edit("filter = \"(objectClass=inetOrgPerson)\"", "filter = \"(&(objectClass=inetOrgPerson)(description=nobody-has-this))\"")
        var r = try await w.run("apply")
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(r.outcome == "held")
        #expect(r.list("gates").contains { $0["verdict"] as? String == "hold" })
        #expect(try w.writes().count == before)
        // The base renamed away (noSuchObject): an error, not "0 users".
        try w.edit("filter = \"(&(objectClass=inetOrgPerson)(description=nobody-has-this))\"", "filter = \"(objectClass=inetOrgPerson)\"")
        try w.edit("base = \"\(w.people)\"", "base = \"ou=renamed,\(w.base)\"")
        r = try await w.run("apply")
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let error = (r.report["errors"] as? [String])?.joined() ?? ""
        #expect(error.contains("noSuchObject") || error.contains("No such object"), "\(error)")
        #expect(try w.writes().count == before)
        try w.audit(row: "3")
    }

    // MARK: 8: bad certificates, no plaintext fallback

    /// Certificates expired, self-signed, or for another host (scripts/lib/slapd.sh makes them with the test CA),
    /// presented by LDAPS, StartTLS and HTTPS: every connection refused, nothing sent in clear, nothing applied.
    @Test func row08BadCertificates() async throws {
        let tls = try TestDirectory.dir + "/tls"
        let w = try World(people: Self.people("x", 2), groups: ["editors": ["x1", "x2"]])
        try w.edit("bind_password_file = \"bind-password\"", "bind_password_file = \"bind-password\"\nca_file = \"\(tls)/ca.pem\"")
        try w.edit("service_password_file = \"mixerai-password\"", "service_password_file = \"mixerai-password\"\nca_file = \"\(tls)/ca.pem\"")
        // LDAPS: a TLS listener in front of a counting proxy in front of slapd's plain port.
        let counter = try FaultProxy(targetPort: w.ldapPort)
        defer { counter.stop() }
        for bad in ["expired", "selfsigned", "otherhost"] {
            let ldaps = try TLSProxy(targetPort: counter.port, certificate: "\(tls)/\(bad).pem", key: "\(tls)/\(bad).key")
            defer { ldaps.stop() }
            try w.pointDirectory(at: "ldaps://127.0.0.1:\(ldaps.port)")
            let r = try await w.run("apply")
            #expect(r.status == 1, "LDAPS with the \(bad) certificate: \(r.stdout)\(r.stderr)")
            #expect(counter.traffic.toServer == 0, "\(bad): not one byte reached the directory")
        }
        let goodLDAPS = try TLSProxy(targetPort: counter.port, certificate: "\(tls)/server.pem", key: "\(tls)/server.key")
        defer { goodLDAPS.stop() }
        try w.pointDirectory(at: "ldaps://127.0.0.1:\(goodLDAPS.port)")
        #expect(try await w.run("plan").status == 2, "the same path with the good certificate works")
        #expect(counter.traffic.toServer > 0)
        // StartTLS against a slapd of its own, its certificate swapped through cn=config: each bad one refused,
        // never a plaintext bind or search instead.
        try w.pointDirectory(at: try TestDirectory.env("MIXER_SYNC_TEST_BADTLS_URL"))
        try w.edit("bind_password_file = \"bind-password\"", "bind_password_file = \"bind-password\"\nstart_tls = true")
        var r: World.Result
        for bad in ["expired", "selfsigned", "otherhost"] {
            try Self.useCertificate(bad, tls: tls)
            r = try await w.run("apply")
            #expect(r.status == 1, "StartTLS with the \(bad) certificate: \(r.stdout)\(r.stderr)")
            let errors = (r.report["errors"] as? [String])?.joined(separator: "; ") ?? ""
            #expect(errors.contains("start-tls"), "\(bad): \(errors)")
        }
        try Self.useCertificate("server", tls: tls)
        r = try await w.run("plan")
        // That slapd does not hold this world's subtree: with the good certificate the read gets past TLS and the
        // bind, and fails only on the missing base.
        let past = (r.report["errors"] as? [String])?.joined(separator: "; ") ?? ""
        #expect(!past.contains("start-tls") && past.contains("noSuchObject"), "StartTLS with the good certificate: \(past)")
        try Self.useCertificate("expired", tls: tls)
        // HTTPS to MixerAI with each bad certificate: nothing reaches the sandbox.
        try w.pointDirectory(at: "ldaps://127.0.0.1:\(goodLDAPS.port)")
        try w.edit("start_tls = true\n", "")
        let plain = "http://127.0.0.1:\(w.sandbox.port)"
        var current = plain
        for bad in ["expired", "selfsigned", "otherhost"] {
            let https = try TLSProxy(targetPort: w.sandbox.port, certificate: "\(tls)/\(bad).pem", key: "\(tls)/\(bad).key")
            defer { https.stop() }
            try w.edit(current, "https://127.0.0.1:\(https.port)")
            current = "https://127.0.0.1:\(https.port)"
            _ = try w.sandbox.hook("DELETE", "requests")
            r = try await w.run("apply")
            #expect(r.status == 1, "HTTPS with the \(bad) certificate: \(r.stdout)\(r.stderr)")
            #expect(try w.sandbox.hook("GET", "requests")["requests"]?.array?.isEmpty == true, "\(bad): nothing reached MixerAI")
        }
        let goodHTTPS = try TLSProxy(targetPort: w.sandbox.port, certificate: "\(tls)/server.pem", key: "\(tls)/server.key")
        defer { goodHTTPS.stop() }
        try w.edit(current, "https://127.0.0.1:\(goodHTTPS.port)")
        r = try await w.run("apply")
        #expect(r.status == 0, "LDAPS and HTTPS with good certificates: \(r.stdout)\(r.stderr)")
        try w.audit(row: "8")
    }

    /// Swaps the StartTLS slapd's certificate (cn=config over ldapi, SASL EXTERNAL as the user who started it).
    static func useCertificate(_ name: String, tls: String) throws {
        let ldif = "dn: cn=config\nchangetype: modify\nreplace: olcTLSCertificateFile\nolcTLSCertificateFile: \(tls)/\(name).pem\n-\n"
            + "replace: olcTLSCertificateKeyFile\nolcTLSCertificateKeyFile: \(tls)/\(name).key\n"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString).ldif").path
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let out = try CommandLineTests.runShell("ldapmodify -Q -Y EXTERNAL -H '\(try TestDirectory.env("MIXER_SYNC_TEST_BADTLS_LDAPI"))' "
                                                + "-f '\(file)' >/dev/null 2>&1; echo rc=$?")
        #expect(out.contains("rc=0"), "swapping the StartTLS certificate to \(name): \(out)")
    }

    // MARK: 9, 10, 11, 20: MixerAI misbehaving

    @Test func row09RateLimitStorm() async throws {
        let people = Self.people("r", 8)
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], sandboxArguments: ["--sensitive-limit", "100000"])
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "status": 429,
                                                  "times": 50, "headers": ["retry-after": "1"]])
        var r = try await w.run("apply")
        #expect(r.status == 4, "a storm ends the run early, the rest in escrow: \(r.stdout)\(r.stderr)")
        let refused = try w.requests("POST", "/api/users/invite")
        #expect(refused.count == 3, "three refusals, then it stops asking: \(refused.count)")
        let times = refused.compactMap { $0["time"]?.string.flatMap(ISOTimestamp.parse) }
        for (a, b) in zip(times, times.dropFirst()) {
            #expect(b.timeIntervalSince(a) >= 0.9, "Retry-After: 1 honoured (\(b.timeIntervalSince(a)) s)")
        }
        #expect(r.changes.allSatisfy { $0["status"] as? String == "escrow" }, "nothing failed for good")
        // Next cycle, Retry-After as an HTTP-date two seconds ahead (twice), then through.
        _ = try w.sandbox.hook("DELETE", "faults")
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "status": 429,
                                                  "times": 2, "headers": ["retry-after": "http-date:+2"]])
        let started = Date()
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(Date().timeIntervalSince(started) >= 2, "the HTTP-date was waited for")
        #expect(Set(people.compactMap(\.mail)).isSubset(of: Set(try w.users().keys)))
        try w.audit(row: "9")
    }

    @Test func row10ServerErrors() async throws {
        let people = Self.people("f", 12)
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], sandboxArguments: ["--sensitive-limit", "100000"])
        // 500 on invites 3–7: those five wait in escrow, the others go; the next run finishes the job.
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "status": 500,
                                                  "nth": 3, "times": 5])
        var r = try await w.run("apply")
        #expect(r.status == 4, "\(r.stdout)\(r.stderr)")
        #expect(r.changes.filter { $0["status"] as? String == "escrow" }.count == 5)
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try await w.run("plan").status == 0)
        // Twelve more joiners, and every call failing: the circuit opens after ten tries.
        let more = Self.people("g", 12)
        try w.ldap(more.map { w.entry($0) }.joined(separator: "\n\n"), add: true)
        try w.ldap("dn: cn=editors,\(w.groups)\nchangetype: modify\nadd: member\n" + more.map { "member: \(w.dn($0.uid))" }.joined(separator: "\n"))
        _ = try w.sandbox.hook("DELETE", "faults")
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "status": 500, "times": 1000])
        let sentBefore = try w.requests("POST", "/api/users/invite").count
        r = try await w.run("apply")
        #expect(r.status == 4, "\(r.stdout)\(r.stderr)")
        #expect(try w.requests("POST", "/api/users/invite").count - sentBefore == 10, "ten tries, then the breaker")
        #expect(r.changes.contains { ($0["status_reason"] as? String)?.contains("most calls are failing") == true }, "\(r.changes)")
        _ = try w.sandbox.hook("DELETE", "faults")
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        try w.audit(row: "10")
    }

    @Test func row11TimeoutsResetsAndDroppedAnswers() async throws {
        let people = Self.people("t", 6)
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], sandboxArguments: ["--sensitive-limit", "100000"])
        try w.edit("service_password_file = \"mixerai-password\"", "service_password_file = \"mixerai-password\"\ntimeout = \"2s\"")
        // The second invite lands but answers after the client gave up; the fourth lands and its answer is lost.
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "kind": "delay",
                                                  "delay_ms": 4000, "nth": 2])
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "kind": "drop", "nth": 4])
        var r = try await w.run("apply")
        #expect(r.status == 0 || r.status == 4, "\(r.stdout)\(r.stderr)")
        if r.status != 0 { r = try await w.run("apply") }
        #expect(r.status == 0, "converges within two runs: \(r.stdout)\(r.stderr)")
        #expect(try await w.run("plan").status == 0)
        // The network itself: every answer held longer than the timeout, then passed again.
        let proxy = try FaultProxy(targetPort: w.sandbox.port, mode: .delay(3000))
        defer { proxy.stop() }
        try w.edit("http://127.0.0.1:\(w.sandbox.port)", "http://127.0.0.1:\(proxy.port)")
        try w.ldap(w.entry(World.Person("t7")), add: true)
        try w.ldap("dn: cn=editors,\(w.groups)\nchangetype: modify\nadd: member\nmember: \(w.dn("t7"))")
        r = try await w.run("apply")
        #expect(r.status != 0, "every call timed out: \(r.stdout)")
        proxy.mode = .resetAfter(0)
        r = try await w.run("apply")
        #expect(r.status != 0, "every connection reset: \(r.stdout)")
        proxy.mode = .pass
        r = try await w.run("apply")
        #expect(r.status == 0 || r.status == 4, "\(r.stdout)\(r.stderr)")
        if r.status != 0 { r = try await w.run("apply") }
        #expect(r.status == 0)
        #expect(try w.users()["t7@e2e.example.com"] != nil)
        try w.audit(row: "11")
    }

    @Test func row20RevokedSession() async throws {
        let w = try World(people: Self.people("s", 3), groups: ["editors": ["s1", "s2", "s3"]])
        _ = try w.sandbox.hook("POST", "faults", ["path_prefix": "/api/", "status": 401, "times": 100_000,
                                                  "body": ["success": false, "error": "Unauthorized", "code": "AUTH_REQUIRED"]])
        var r = try await w.run("apply")
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let errors = (r.report["errors"] as? [String])?.joined(separator: "; ") ?? ""
        #expect(errors.contains("401"), "\(errors)")
        #expect(try w.writes().filter { ($0["status"]?.int ?? 500) < 300 }.isEmpty, "nothing applied")
        _ = try w.sandbox.hook("DELETE", "faults")
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        try w.audit(row: "20")
    }

    // MARK: 12: crashes

    /// The world every crash test uses: four joiners, a mover (Editor on Brand A → View Only on Brand B) and a leaver.
    static func crashWorld() throws -> World {
        let joiners = Self.people("j", 4)
        return try World(people: joiners + [World.Person("mv"), World.Person("lv", extra: ["employeeType: terminated"])],
                         groups: ["editors": joiners.map(\.uid) + ["lv"], "viewers": ["mv"]],
                         seedUsers: [["email": "mv@e2e.example.com", "full_name": "Person mv", "role": "editor", "global_role": "editor",
                                      "brands": ["Brand A": "editor"]],
                                     ["email": "lv@e2e.example.com", "full_name": "Person lv", "role": "editor", "global_role": "editor",
                                      "brands": ["Brand A": "editor"]]],
                         policy: "max_deactivations_percent = 100", sandboxArguments: ["--sensitive-limit", "100000"])
    }

    /// After a crash: converged within two runs, everyone where the directory says, no duplicate, nothing lost.
    static func recover(_ w: World, row: String, test: String = #function) async throws {
        var r = try await w.run("apply")
        var runs = 1
        if r.status != 0 { r = try await w.run("apply"); runs += 1 }
        #expect(r.status == 0, "converged within two runs: \(r.stdout)\(r.stderr)")
        let plan = try await w.run("plan")
        #expect(plan.status == 0, "in sync: \(plan.kinds())")
        let users = try w.users()
        for j in 1...4 { #expect(users["j\(j)@e2e.example.com"] != nil, "joiner j\(j) invited") }
        #expect(users["lv@e2e.example.com"]?["user_metadata"]?["status"]?.string == "inactive", "the leaver deactivated")
        #expect(try w.brands("mv@e2e.example.com") == ["Brand B": "viewer"], "the mover moved")
        // Every report file is whole (written to a temporary name, then renamed).
        for name in try FileManager.default.contentsOfDirectory(atPath: w.folder + "/reports") where name.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: w.folder + "/reports/" + name))
            #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "\(name) is whole")
        }
        try w.audit(row: row, leavers: ["lv@e2e.example.com"], test: test, crashRun: true, converged: r.status == 0 && runs <= 2)
    }

    /// `move` stands for the mover's change kind, read from the plan.
    static let crashPoints = ["after-intent-commit/invite:2", "after-intent-commit/move:1", "after-intent-commit/deactivate:1",
                              "after-invite-before-link/invite:2",
                              "after-response-before-commit/invite:2", "after-response-before-commit/move:1",
                              "after-response-before-commit/deactivate:1",
                              "after-commit/invite:2", "after-commit/move:1", "after-commit/deactivate:1",
                              "mid-report-write:1"]

    @Test(arguments: crashPoints) func row12CrashPoints(point: String) async throws {
        let w = try Self.crashWorld()
        let planned = try await w.run("plan")
        let moverKind = planned.changes.first { $0["email"] as? String == "mv@e2e.example.com" }?["kind"] as? String ?? "?"
        let point = point.replacingOccurrences(of: "/move:", with: "/\(moverKind):")
        let kind = point.split(separator: "/").dropFirst().first.map { String($0.split(separator: ":")[0]) }
        if let kind { #expect(planned.changes.contains { $0["kind"] as? String == kind }, "the plan has a \(kind): \(planned.kinds())") }
        let crashed = try await w.run("apply", environment: ["MIXER_SYNC_CRASHPOINT": point])
        #expect(crashed.status == SIGKILL, "killed at \(point): status \(crashed.status) \(crashed.stderr)")
        #expect(crashed.stderr.contains("crash point"))
        try await Self.recover(w, row: "12")
    }

    /// kill -9 at a random moment of an apply slowed by MixerAI (and an answer lost after the change landed).
    @Test func row12RandomKills() async throws {
        let count = Int(ProcessInfo.processInfo.environment["MIXER_SYNC_RELIABILITY_KILLS"] ?? "") ?? 5
        for _ in 0..<count {
            let w = try Self.crashWorld()
            _ = try w.sandbox.hook("POST", "faults", ["path_prefix": "/api/users/", "kind": "delay",
                                                      "delay_ms": .number(Double(Int.random(in: 100...300))), "times": 1000])
            _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "kind": "drop",
                                                      "nth": .number(Double(Int.random(in: 1...4)))])
            let process = try w.spawn("apply")
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...2500)))
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            _ = try w.sandbox.hook("DELETE", "faults")
            try await Self.recover(w, row: "12")
        }
    }

    // MARK: 14: emails that differ only by case or Unicode form

    /// Case differences end to end (slapd's `mail` is IA5: Unicode forms cannot reach it; NFC/NFD matching is
    /// RoleTests.composesToNFC).
    @Test func row14EmailCase() async throws {
        let w = try World(people: [World.Person("c1", mail: "Ann.Case@E2E.example.com"), World.Person("c2", mail: "bea@e2e.example.com")],
                          groups: ["editors": ["c1", "c2"]],
                          seedUsers: [["email": "Bea@E2E.Example.COM", "full_name": "Person c2", "role": "editor", "global_role": "editor",
                                       "brands": ["Brand A": "editor"]]])
        var r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.kinds().filter { $0.hasPrefix("invite") } == ["invite ann.case@e2e.example.com"], "Bea is the seeded account: \(r.kinds())")
        let writes = try w.writes().count
        // Between cycles the directory changes only the case; nothing happens in MixerAI.
        try w.ldap("dn: \(w.dn("c1"))\nchangetype: modify\nreplace: mail\nmail: ANN.CASE@E2E.EXAMPLE.COM")
        try w.ldap("dn: \(w.dn("c2"))\nchangetype: modify\nreplace: mail\nmail: BEA@e2e.example.com")
        r = try await w.run("apply")
        #expect(r.status == 0)
        #expect(r.changes.isEmpty, "\(r.kinds())")
        #expect(try w.writes().count == writes)
        try w.audit(row: "14")
    }

    // MARK: 17: a skewed clock

    @Test func row17ClockSkew() async throws {
        let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
        try #require(FileManager.default.fileExists(atPath: library), "libfaketime is missing: scripts/setup installs it")
        let w = try World(people: Self.people("k", 3), groups: ["editors": ["k1", "k2", "k3"]])
        #expect(try await w.run("apply").status == 0)
        let writes = try w.writes().count
        for skew in ["+1d", "-1d"] {
            let env = ["LD_PRELOAD": library, "FAKETIME": skew, "FAKETIME_DONT_FAKE_MONOTONIC": "1"]
            let r = try await w.run("apply", environment: env)
            #expect(r.status == 0, "\(skew): \(r.stdout)\(r.stderr)")
            #expect(r.changes.isEmpty, "\(skew): no mass action, nothing at all: \(r.kinds()) \(r.stdout) \(r.stderr)")
            let started = (r.report["started_at"] as? String).flatMap(ISOTimestamp.parse) ?? Date()
            #expect(abs(abs(started.timeIntervalSinceNow) - 86400) < 3600, "\(skew): the clock really was skewed (\(started))")
        }
        #expect(try w.writes().count == writes)
        // The directory over LDAPS: a day early, its certificate is not valid yet. Fail closed, no plaintext.
        try w.pointDirectory(at: try TestDirectory.ldapsURL)
        try w.edit("bind_password_file = \"bind-password\"", "bind_password_file = \"bind-password\"\nca_file = \"\(try TestDirectory.ca)\"")
        #expect(try await w.run("plan").status == 0, "LDAPS with the test CA works on time")
        let r = try await w.run("apply", environment: ["LD_PRELOAD": library, "FAKETIME": "-1d", "FAKETIME_DONT_FAKE_MONOTONIC": "1"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(try w.writes().count == writes)
        try w.audit(row: "17")
    }

    // MARK: 18: memory stays bounded (the 200,000-user run is scripts/reliability's)

    @Test func row18MemoryStaysBoundedOnTheTestDirectory() throws {
        let config = try CommandLineTests.writeConfig()
        let bin = try TestDirectory.env("MIXER_SYNC_BIN")
        let out = try CommandLineTests.runShell("/usr/bin/time -f 'maxrss_kb=%M' '\(bin)' test-query --config '\(config)' >/dev/null 2>'\(config).time'; "
                                                + "echo rc=$?; cat '\(config).time'")
        #expect(out.contains("rc=0"), "\(out)")
        let kb = out.split(separator: "\n").first { $0.hasPrefix("maxrss_kb=") }.flatMap { Int($0.dropFirst("maxrss_kb=".count)) } ?? .max
        let users = try TestDirectory.users
        #expect(kb < 256 * 1024, "reading \(users) users took \(kb / 1024) MiB")
        ReliabilityLedger.record(row: "18")
    }

    // MARK: 21: canary secrets

    @Test func row21CanarySecrets() async throws {
        let ldapCanary = "CANARY-LDAP-\(UUID().uuidString.prefix(8))", mixerCanary = "CANARY-TOKEN-\(UUID().uuidString.prefix(8))"
        // The Supabase service-role key ([supabase] bans the leaver) is a canary too; the sandbox's GoTrue expects it.
        let keyCanary = "CANARY-SERVICE-ROLE-\(UUID().uuidString.prefix(8))"
        let sandboxKey = NSTemporaryDirectory() + "mixer-sync-service-role-\(UUID().uuidString.prefix(8))"
        try keyCanary.write(toFile: sandboxKey, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: sandboxKey) }
        let joiners = Self.people("q", 4)
        let w = try World(people: joiners + [World.Person("ql", extra: ["employeeType: terminated"])],
                          groups: ["editors": joiners.map(\.uid) + ["ql"]],
                          seedUsers: [["email": "ql@e2e.example.com", "full_name": "Person ql", "role": "editor", "global_role": "editor",
                                       "brands": ["Brand A": "editor"]]],
                          policy: "max_deactivations_percent = 100", sandboxArguments: ["--service-role-key-file", sandboxKey],
                          extraConfig: Self.daemonSection(feed: "auto"), mixerPassword: mixerCanary)
        try (String(contentsOfFile: w.config, encoding: .utf8) + "\n[supabase]\nurl = \"http://127.0.0.1:\(w.sandbox.port)\"\n"
             + "service_role_key_file = \"service-role-key\"\n").write(toFile: w.config, atomically: true, encoding: .utf8)
        try keyCanary.write(toFile: w.folder + "/service-role-key", atomically: true, encoding: .utf8)
        chmod(w.folder + "/service-role-key", 0o600)
        // The directory account binds with a canary password of its own.
        try w.ldap("dn: cn=canary-bind,\(w.base)\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
                   + "cn: canary-bind\nuserPassword: \(ldapCanary)", add: true)
        try w.edit("bind_dn = \"\(TestDirectory.serviceDN)\"", "bind_dn = \"cn=canary-bind,\(w.base)\"")
        try ldapCanary.write(toFile: w.folder + "/bind-password", atomically: true, encoding: .utf8)
        var seen: [String] = []
        // Every command, some under faults, one that fails.
        _ = try w.sandbox.hook("POST", "faults", ["method": "POST", "path_prefix": "/api/users/invite", "kind": "drop", "nth": 2])
        _ = try w.sandbox.hook("POST", "faults", ["method": "PUT", "path_prefix": "/api/users/", "status": 500, "times": 2])
        for argv in [["check-config"], ["check-mixerai"], ["plan"], ["plan", "--out", w.folder + "/plan.json"], ["apply"], ["apply"], ["status", "--json"],
                     ["explain", "q1@e2e.example.com"], ["test-query"]] {
            let r = try await w.run(argv: argv, environment: ["MIXER_SYNC_LOG_LEVEL": "debug"])
            seen.append(r.stdout + r.stderr)
        }
        try "wrong-\(ldapCanary)".write(toFile: w.folder + "/bind-password", atomically: true, encoding: .utf8)
        let refused = try await w.run("plan")
        #expect(refused.status == 1, "a wrong password is refused")
        seen.append(refused.stdout + refused.stderr)
        try ldapCanary.write(toFile: w.folder + "/bind-password", atomically: true, encoding: .utf8)
        // The daemon: its log, its metrics, its argv and environment while it runs.
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("full reconcile", seconds: 60), "\(daemon.text)")
        let port = try String(contentsOfFile: w.config, encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("metrics_listen") }.map { String($0.split(separator: ":").last!.filter(\.isNumber)) } ?? ""
        seen.append(try CommandLineTests.runShell("curl -s http://127.0.0.1:\(port)/metrics"))
        for name in ["cmdline", "environ"] {
            seen.append(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(daemon.pid)/\(name)"))) ?? Data(), as: UTF8.self))
        }
        #expect(await daemon.terminate() == 0)
        seen.append(daemon.text)
        // Everything mixer-sync wrote: reports, state (SQLite and its WAL), the plan file, the cookie jar.
        for dir in ["reports", "state"] {
            let root = w.folder + "/" + dir
            for name in FileManager.default.subpaths(atPath: root) ?? [] {
                if let data = FileManager.default.contents(atPath: root + "/" + name) { seen.append(String(decoding: data, as: UTF8.self)) }
            }
        }
        seen.append((try? String(contentsOfFile: w.folder + "/plan.json", encoding: .utf8)) ?? "")
        #expect(seen.joined().count > 10_000, "the search covered real output")
        #expect(try w.requests("PUT", "/auth/v1/admin/users/").count == 1, "the leaver was banned with the canary key")
        var hits = 0
        for text in seen { for canary in [ldapCanary, mixerCanary, keyCanary] { hits += text.components(separatedBy: canary).count - 1 } }
        #expect(hits == 0, "canary hits: \(hits)")
        ReliabilityLedger.record(row: "21", canaryLeaks: hits)
        try w.audit(row: "21", leavers: ["ql@e2e.example.com"])
    }
}

extension World {
    /// Where a password of this world (the MixerAI canary, the directory bind password) appears in what mixer-sync
    /// printed or wrote: the commands' output, the daemon logs, the reports, the state database, plan files.
    func canaryHits() throws -> [String] {
        var secrets = [mixerPassword, try String(contentsOfFile: try TestDirectory.passwordFile, encoding: .utf8)]
        if let bind = try? String(contentsOfFile: folder + "/bind-password", encoding: .utf8) { secrets.append(bind) }
        secrets = secrets.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { $0.count >= 8 }
        let inputs: Set<String> = ["seed.json", "bind-password", "mixerai-password", "mixer-sync.toml"]
        var hits: [String] = []
        for name in FileManager.default.subpaths(atPath: folder) ?? [] {
            let file = (name as NSString).lastPathComponent
            guard !inputs.contains(file), !file.hasPrefix("change-"), !name.hasPrefix("sandbox"),
                  let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for secret in secrets where text.contains(secret) { hits.append(name) }
        }
        return hits
    }

    /// The port of the slapd this world lives in.
    var ldapPort: Int { Int(ldapURL.split(separator: ":").last!.filter(\.isNumber))! }

    /// Replaces text in the config file (a proxy in front of a server, a key changed between runs).
    func edit(_ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        guard text.contains(old) else { throw World.Failure(description: "the config has no \(old)") }
        try text.replacingOccurrences(of: old, with: new).write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Points the directory section at another URL (a fault proxy, a closed port, LDAPS).
    func pointDirectory(at url: String) throws {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("url = \"ldap") }) else {
            throw World.Failure(description: "the config has no directory url")
        }
        try edit(String(line), "url = \"\(url)\"")
    }

    /// The audit every reliability test ends with: invites that reached MixerAI twice for one person, and
    /// deactivations of anyone but `leavers`, from the sandbox's request log; recorded in the ledger, expected 0.
    @discardableResult
    func audit(row: String, leavers: Set<String> = [], test: String = #function, crashRun: Bool? = nil,
               converged: Bool? = nil) throws -> (wrong: Int, duplicates: Int) {
        let log = try sandbox.hook("GET", "requests")["requests"]?.array ?? []
        var emailById: [String: String] = [:]
        for u in try sandbox.hook("GET", "state")["users"]?.array ?? [] {
            if let id = u["id"]?.string, let e = u["email"]?.string { emailById[id] = e.lowercased() }
        }
        var invites: [String: Int] = [:]
        var wrong: [String] = []
        for entry in log where entry["method"]?.string == "POST" && (entry["status"]?.int ?? 500) < 300 {
            let path = entry["path"]?.string ?? ""
            if path == "/api/users/invite", let email = entry["body"]?["email"]?.string {
                invites[email.lowercased().precomposedStringWithCanonicalMapping, default: 0] += 1
            }
            let parts = path.split(separator: "/")
            if parts.count == 4, parts[3] == "deactivate" {
                let email = emailById[String(parts[2])] ?? String(parts[2])
                if !leavers.contains(email) { wrong.append(email) }
            }
        }
        let duplicates = invites.values.reduce(0) { $0 + max(0, $1 - 1) }
        let leaks = try canaryHits()
        ReliabilityLedger.record(row: row, test: test, wrongDeactivations: wrong.count, duplicateInvites: duplicates,
                                 crashRun: crashRun, converged: converged, canaryLeaks: leaks.count)
        #expect(wrong.isEmpty, "deactivated outside the plan: \(wrong)")
        #expect(duplicates == 0, "invited twice: \(invites.filter { $0.value > 1 })")
        #expect(leaks.isEmpty, "a password in what mixer-sync wrote: \(leaks)")
        return (wrong.count, duplicates)
    }
}

