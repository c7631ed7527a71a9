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

    @Test func aKilledLeaderIsReplacedWithinTwoLeasesAndThePendingOffboardingGoesOnce() async throws {
        let (w, configA, configB) = try pair("hk")
        let a = try DaemonProcess(config: configA, folder: w.folder, logName: "daemon-a.log")
        #expect(await a.waitForLog("leadership: leader", seconds: 30), "\(a.text)")
        let b = try DaemonProcess(config: configB, folder: w.folder, logName: "daemon-b.log")
        #expect(await b.waitForLog("leadership: standby", seconds: 30), "\(b.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.users().count == 8 }, "the leader's first full run: \(a.text)")
        #expect(await a.waitForLog("change feed connected", seconds: 30), "\(a.text)")
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
        let a = try DaemonProcess(config: configA, folder: w.folder, logName: "daemon-a.log")
        #expect(await a.waitForLog("leadership: leader", seconds: 30), "\(a.text)")
        let b = try DaemonProcess(config: configB, folder: w.folder, logName: "daemon-b.log")
        #expect(await b.waitForLog("leadership: standby", seconds: 30), "\(b.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.users().count == 8 }, "\(a.text)")
        #expect(await a.waitForLog("change feed connected", seconds: 30), "\(a.text)")

        let ctl = try TestDirectory.env("MIXER_SYNC_TEST_POSTGRES_CTL")
        #expect(Self.spawnAndWait([ctl, "restart", "-m", "fast"]) == 0, "PostgreSQL restarted")
        try w.disable("hr4")
        // Whoever leads after the restart offboards the leaver, once.
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("hr4@e2e.example.com") }, "\(a.text)\n\(b.text)")
        try await Task.sleep(for: .seconds(2))
        let (deactivated, invited) = (try deactivations(w).count, try invites(w))
        #expect(deactivated == 1 && invited == 6, "deactivations \(deactivated), invites \(invited)")
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
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }
}
