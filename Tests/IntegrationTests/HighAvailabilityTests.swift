import Foundation
import Sandbox
import Testing
import TestSupport

/// Two daemons, one PostgreSQL state, one leader (docs/high-availability.md): real slapd with syncprov, the
/// sandbox, the throwaway PostgreSQL of scripts/test, both daemons as child processes. Over every test: no
/// duplicate invite, no lost offboarding, nothing sent by a process that is not the leader.
@Suite(.serialized) struct HighAvailabilityTests {
    static let lease = 3.0

    /// A fresh database on the test PostgreSQL (psql with a private password file).
    static func freshDatabase(_ folder: String) throws -> String {
        let url = try TestDirectory.env("MIXER_SYNC_TEST_POSTGRES_URL")
        let password = try String(contentsOfFile: try TestDirectory.env("MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = try #require(URLComponents(string: url))
        let pgpass = folder + "/pgpass"
        try "\(parts.host!):\(parts.port!):*:\(parts.user!):\(password)\n".write(toFile: pgpass, atomically: true, encoding: .utf8)
        chmod(pgpass, 0o600)
        let name = "ha_" + UUID().uuidString.prefix(8).lowercased()
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [url, "-q", "-c", "CREATE DATABASE \(name)"]
        psql.environment = ["PGPASSFILE": pgpass, "PATH": "/usr/bin:/bin"]
        try psql.run()
        psql.waitUntilExit()
        #expect(psql.terminationStatus == 0, "CREATE DATABASE")
        try (password + "\n").write(toFile: folder + "/postgres-password", atomically: true, encoding: .utf8)
        chmod(folder + "/postgres-password", 0o600)
        var database = parts
        database.path = "/" + name
        return try #require(database.string)
    }

    /// The world's config made into two: each host has its own state directory (lock, reports' neighbours) and
    /// metrics port; both share the PostgreSQL state and a 3 s lease.
    func pair(_ prefix: String, count: Int = 6) throws -> (World, a: String, b: String) {
        let people = (1...count).map { World.Person("\(prefix)\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)],
                          policy: "max_deactivations_percent = 100\nmax_shrink_percent = 100", extraConfig: World.daemonConfig())
        let url = try Self.freshDatabase(w.folder)
        let text = try String(contentsOfFile: w.config, encoding: .utf8)
        var paths: [String] = []
        for host in ["a", "b"] {
            var t = text.replacingOccurrences(of: "[state]\ndirectory = \"\(w.folder)/state\"", with: """
                [state]
                directory = "\(w.folder)/state-\(host)"
                backend = "postgresql"
                url = "\(url)"
                password_file = "postgres-password"

                [ha]
                lease = "\(Int(Self.lease))s"
                """)
            #expect(t != text, "the [state] section was replaced")
            if host == "b" {
                // Another free port than a's (a does not listen yet: the kernel could hand the same one back).
                var port = DaemonProcessTests.freePort()
                while text.contains("127.0.0.1:\(port)\"") { port = DaemonProcessTests.freePort() }
                t = t.replacingOccurrences(of: #"metrics_listen = "127.0.0.1:\d+""#,
                                           with: "metrics_listen = \"127.0.0.1:\(port)\"", options: .regularExpression)
            }
            let path = w.folder + "/mixer-sync-\(host).toml"
            try t.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        return (w, paths[0], paths[1])
    }

    /// Runs a command to its end with posix_spawn and waitpid. (Foundation's Process learns of the exit through a
    /// pipe its child inherits; a server that pg_ctl starts keeps that pipe open, and the wait would never end.)
    static func spawnAndWait(_ argv: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    func deactivations(_ w: World) throws -> [String] {
        try w.requests("POST", "/api/users/").compactMap { $0["path"]?.string }.filter { $0.hasSuffix("/deactivate") }
    }

    func invites(_ w: World) throws -> Int { try w.requests("POST", "/api/users/invite").count }

    /// Writes (anything but GET to MixerAI's users and GoTrue's admin) that reached the sandbox from a process which
    /// was not the leader at that moment: the sender is told by its User-Agent's PID, the leader by the daemons' own
    /// "leadership: leader" lines (when PostgreSQL granted each epoch, same clock as the sandbox's).
    static func nonLeaderWrites(_ w: World, _ daemons: [DaemonProcess]) throws -> [String] {
        var takes: [(at: Double, pid: String)] = []
        for d in daemons {
            for line in d.text.split(separator: "\n") where line.contains("leadership: leader") {
                let holder = line.firstMatch(of: /lease\.holder=[^ :]+:(\d+):/)?.1
                let at = line.firstMatch(of: /lease\.taken_at_unix=([0-9.]+)/)?.1
                if let holder, let at, let t = Double(at) { takes.append((t, String(holder))) }
            }
        }
        takes.sort { $0.at < $1.at }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var bad: [String] = []
        for r in try w.sandbox.hook("GET", "requests")["requests"]?.array ?? [] {
            let path = r["path"]?.string ?? ""
            guard r["method"]?.string != "GET", path.hasPrefix("/api/users") || path.hasPrefix("/auth/v1/admin"),
                  let agent = r["user_agent"]?.string, let pid = agent.firstMatch(of: /pid (\d+)/)?.1,
                  let at = r["time"]?.string.flatMap({ parser.date(from: $0) })?.timeIntervalSince1970 else { continue }
            let leader = takes.last { $0.at <= at }?.pid
            if leader != String(pid) { bad.append("\(r["method"]?.string ?? "") \(path) by pid \(pid) (leader: \(leader ?? "none"))") }
        }
        return bad
    }

    /// Host a leads (its first full run done, its change feed connected), then host b stands by.
    func start(_ w: World, _ configA: String, _ configB: String) async throws -> (DaemonProcess, DaemonProcess) {
        let a = try DaemonProcess(config: configA, folder: w.folder, logName: "daemon-a.log")
        #expect(await a.waitForLog("leadership: leader", seconds: 30), "\(a.text)")
        let b = try DaemonProcess(config: configB, folder: w.folder, logName: "daemon-b.log")
        #expect(await b.waitForLog("leadership: standby", seconds: 30), "\(b.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.users().count == 8 }, "the leader's first full run: \(a.text)")
        #expect(await a.waitForLog("change feed connected", seconds: 30), "\(a.text)")
        return (a, b)
    }

    @Test func aKilledLeaderIsReplacedWithinTwoLeasesAndThePendingOffboardingGoesOnce() async throws {
        let (w, configA, configB) = try pair("hk")
        let (a, b) = try await start(w, configA, configB)
        #expect(!b.text.contains("full reconcile"), "the standby runs nothing")

        await a.kill9()
        let killed = Date()
        try w.disable("hk2")
        #expect(await b.waitForLog("leadership: leader", seconds: 4 * Self.lease), "\(b.text)")
        let tookOver = Date().timeIntervalSince(killed)
        print("failover after kill -9: \(Int(tookOver * 1000)) ms (lease \(Int(Self.lease * 1000)) ms)")
        #expect(tookOver <= 2 * Self.lease + 1, "the standby leads within two leases (\(tookOver) s)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hk2@e2e.example.com") }, "\(b.text)")
        #expect(try deactivations(w).count == 1, "the pending offboarding went once")
        let invited = try invites(w)
        #expect(invited == 6, "no invite twice: \(invited)")
        let strays = try Self.nonLeaderWrites(w, [a, b])
        #expect(strays.isEmpty, "\(strays)")
        let status = try CommandLineTests.run(["status", "--config", configB], environment: [:])
        #expect(status.stdout.contains("leader:"), "\(status.stdout)")
        // `apply` from the command line never writes beside a leading daemon; once the daemons stop, it leads.
        let refused = try CommandLineTests.run(["apply", "--config", configA], environment: [:])
        #expect(refused.status == 1 && (refused.stdout + refused.stderr).contains("leads (lease epoch"), "\(refused.stdout)\(refused.stderr)")
        #expect(await b.terminate() == 0)
        let applied = try CommandLineTests.run(["apply", "--config", configA], environment: [:])
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(try deactivations(w).count == 1 && invites(w) == 6)
    }

    @Test func aRestartOfPostgreSQLUnderBothStopsNoWorkForGood() async throws {
        let (w, configA, configB) = try pair("hr")
        let (a, b) = try await start(w, configA, configB)

        let ctl = try TestDirectory.env("MIXER_SYNC_TEST_POSTGRES_CTL")
        #expect(Self.spawnAndWait([ctl, "restart", "-m", "fast"]) == 0, "PostgreSQL restarted")
        try w.disable("hr4")
        // Whoever leads after the restart offboards the leaver, once.
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hr4@e2e.example.com") }, "\(a.text)\n\(b.text)")
        try await Task.sleep(for: .seconds(2))
        let (deactivated, invited) = (try deactivations(w).count, try invites(w))
        #expect(deactivated == 1 && invited == 6, "deactivations \(deactivated), invites \(invited)")
        let strays = try Self.nonLeaderWrites(w, [a, b])
        #expect(strays.isEmpty, "\(strays)")
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }

    @Test func aPausedLeaderWakesAsAStandbyAndSendsNothing() async throws {
        let (w, configA, configB) = try pair("hp")
        let a = try DaemonProcess(config: configA, folder: w.folder, logName: "daemon-a.log")
        #expect(await a.waitForLog("leadership: leader", seconds: 30), "\(a.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.users().count == 8 }, "\(a.text)")
        #expect(await a.waitForLog("change feed connected", seconds: 30), "\(a.text)")
        let b = try DaemonProcess(config: configB, folder: w.folder, logName: "daemon-b.log")
        #expect(await b.waitForLog("leadership: standby", seconds: 30), "\(b.text)")

        kill(a.pid, SIGSTOP)
        #expect(await b.waitForLog("leadership: leader", seconds: 4 * Self.lease), "\(b.text)")
        try w.disable("hp3")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("hp3@e2e.example.com") }, "\(b.text)")
        try await Task.sleep(for: .seconds(Self.lease))  // three leases paused in all
        let before = try w.requests("POST", "/api/").count + w.requests("PUT", "/api/").count
        kill(a.pid, SIGCONT)
        #expect(await a.waitForLog("leadership: standby", seconds: 10), "\(a.text)")
        try await Task.sleep(for: .seconds(2))
        let after = try w.requests("POST", "/api/").count + w.requests("PUT", "/api/").count
        #expect(after == before, "the woken leader sent nothing (\(before) → \(after))")
        try w.disable("hp5")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("hp5@e2e.example.com") }, "\(b.text)")
        #expect(try deactivations(w).count == 2 && invites(w) == 6)
        let strays = try Self.nonLeaderWrites(w, [a, b])
        #expect(strays.isEmpty, "\(strays)")
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }

    /// The last "leadership: leader" line of these daemons: which of them leads now.
    static func leader(_ daemons: [DaemonProcess]) -> DaemonProcess? {
        var best: (at: Double, daemon: DaemonProcess)?
        for d in daemons {
            for line in d.text.split(separator: "\n") where line.contains("leadership: leader") {
                if let at = line.firstMatch(of: /lease\.taken_at_unix=([0-9.]+)/)?.1, let t = Double(at), t > (best?.at ?? 0) {
                    best = (t, d)
                }
            }
        }
        return best?.daemon
    }

    /// Each host reaches PostgreSQL through a fault proxy of its own. The leader's connections are cut once: it
    /// reconnects, nothing is lost or sent twice. Then the leader's are black-holed (connections go silent, new ones
    /// are never answered): it stops writing as soon as it can no longer prove its lease, the standby leads within
    /// two leases and offboards the next leaver, and when the proxy passes again the old leader finds the lease
    /// taken and stays a standby.
    @Test func aLeaderCutOffFromPostgreSQLStopsWritingAndTheStandbyLeads() async throws {
        let (w, configA, configB) = try pair("hb")
        let direct = try #require(URLComponents(string: try TestDirectory.env("MIXER_SYNC_TEST_POSTGRES_URL"))?.port)
        var proxies: [FaultProxy] = []
        defer { for p in proxies { p.stop() } }
        for config in [configA, configB] {
            let proxy = try FaultProxy(targetPort: direct)
            proxies.append(proxy)
            let text = try String(contentsOfFile: config, encoding: .utf8)
            let viaProxy = text.replacingOccurrences(of: "127.0.0.1:\(direct)/", with: "127.0.0.1:\(proxy.port)/")
            #expect(viaProxy != text, "the url goes through the proxy")
            try viaProxy.write(toFile: config, atomically: true, encoding: .utf8)
        }
        let (a, b) = try await start(w, configA, configB)
        let daemons = [a, b]
        func proxy(of d: DaemonProcess) -> FaultProxy { d === a ? proxies[0] : proxies[1] }

        // Cut: every connection of the leader's is reset at its next answer, for a second; then it passes again.
        proxy(of: a).mode = .resetAfter(0)
        try await Task.sleep(for: .seconds(1))
        proxy(of: a).mode = .pass
        try w.disable("hb2")
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hb2@e2e.example.com") }, "\(a.text)\n\(b.text)")

        // Black hole: whoever leads now cannot renew its lease; the other takes over within two leases.
        let old = try #require(Self.leader(daemons))
        let standby = old === a ? b : a
        let seenBefore = old.text.components(separatedBy: "lease.leader=").count
        proxy(of: old).mode = .blackHole
        let cut = Date()
        #expect(await DaemonProcess.until(seconds: 4 * Self.lease) { Self.leader(daemons) === standby }, "\(standby.text)")
        let tookOver = Date().timeIntervalSince(cut)
        print("failover after a black hole: \(Int(tookOver * 1000)) ms (lease \(Int(Self.lease * 1000)) ms)")
        #expect(tookOver <= 2 * Self.lease + 1, "the standby leads within two leases (\(tookOver) s)")
        try w.disable("hb3")
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hb3@e2e.example.com") }, "\(standby.text)")
        proxy(of: old).mode = .pass
        #expect(await DaemonProcess.until(seconds: 30) { old.text.components(separatedBy: "lease.leader=").count > seenBefore },
                "the old leader sees the new one's lease: \(old.text)")
        try w.disable("hb5")
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hb5@e2e.example.com") }, "\(standby.text)")
        try await Task.sleep(for: .seconds(1))
        let (deactivated, invited) = (try deactivations(w), try invites(w))
        #expect(deactivated.count == 3 && invited == 6, "\(deactivated) \(invited)")
        let strays = try Self.nonLeaderWrites(w, daemons)
        #expect(strays.isEmpty, "\(strays)")
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }
}
