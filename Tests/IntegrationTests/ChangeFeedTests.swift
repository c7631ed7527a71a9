import Foundation
import Sandbox
import Testing
import TestSupport

/// The daemon's fast path: slapd's syncrepl feed → the restrict-only plan → the durable queue → the sandbox,
/// with full runs an hour apart so that only the feed can act during a test.
@Suite(.serialized) struct ChangeFeedTests {
    @Test func aLeaverIsOffboardedByTheFeedWithoutAFullRunAndGrantsWait() async throws {
        let people = (1...20).map { World.Person("cf\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)],
                          policy: "max_deactivations_percent = 100", extraConfig: World.daemonConfig())
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("full reconcile", seconds: 60), "\(daemon.text)")
        #expect(await daemon.waitForLog("change feed connected", seconds: 30), "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 30) { try w.users().count == 22 }, "the first full run invites everyone")

        // Disabled in the directory → deactivated and stripped in MixerAI, with no full run in between.
        let disabledAt = Date()
        try w.disable("cf3")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("cf3@e2e.example.com") }, "\(daemon.text)")
        // Full runs are an hour apart: anything well under that is the feed. The latency itself is a figure of
        // Benchmarks/offboarding-latency.sh, not a timed test (a starved CI machine took 6 s here once).
        let took = Date().timeIntervalSince(disabledAt)
        print("offboarded \(Int(took * 1000)) ms after the directory change (change feed)")
        #expect(took < 30, "offboarded in \(took) s")
        #expect(daemon.text.components(separatedBy: "full reconcile").count - 1 == 1, "by the feed, not a full run")
        #expect(await DaemonProcess.until(seconds: 30) { try w.brands("cf3@e2e.example.com").isEmpty })

        // Removed from every mapped group → offboarded too (the group's modify is the event).
        try w.ldap("dn: cn=editors,\(w.groups)\nchangetype: modify\ndelete: member\nmember: \(w.dn("cf4"))")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("cf4@e2e.example.com") }, "\(daemon.text)")

        // A joiner is a grant: the fast path leaves it to the next full run.
        try w.ldap(w.entry(.init("cf21")), add: true)
        try w.ldap("dn: cn=editors,\(w.groups)\nchangetype: modify\nadd: member\nmember: \(w.dn("cf21"))")
        try await Task.sleep(for: .seconds(2))
        #expect(try w.users()["cf21@e2e.example.com"] == nil, "no invite from the change feed")

        #expect(daemon.text.components(separatedBy: "full reconcile").count - 1 == 1, "one full run only")
        let reports = try FileManager.default.contentsOfDirectory(atPath: w.folder + "/reports").filter { $0.hasSuffix(".json") && $0 != "latest.json" }
        let modes = try reports.map { name -> String in
            let data = try Data(contentsOf: URL(fileURLWithPath: w.folder + "/reports/" + name))
            return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["mode"] as? String ?? "?"
        }
        #expect(modes.filter { $0 == "change-feed" }.count >= 2, "\(modes)")

        // The latency histogram counts both offboardings.
        let port = try #require(Int(try String(contentsOfFile: w.config, encoding: .utf8)
            .components(separatedBy: "metrics_listen = \"127.0.0.1:")[1].prefix { $0.isNumber }))
        // (recorded once the offboarding's last call is journaled, a moment after MixerAI shows it inactive)
        _ = await DaemonProcess.until(seconds: 30) {
            String(decoding: try HTTP.send(port: port, "GET", "/metrics").body, as: UTF8.self)
                .contains("mixer_sync_offboarding_latency_seconds_count 2")
        }
        let exposition = String(decoding: try HTTP.send(port: port, "GET", "/metrics").body, as: UTF8.self)
        #expect(exposition.contains("mixer_sync_offboarding_latency_seconds_count 2"), "\(exposition)")
        #expect(exposition.contains("mixer_sync_change_feed_connected 1"))
        #expect(await daemon.terminate() == 0)
    }

    @Test func sighupTurnsTheFeedOnWithTheReloadedConfiguration() async throws {
        let people = (1...6).map { World.Person("hu\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)],
                          policy: "max_deactivations_percent = 100",
                          extraConfig: World.daemonConfig() + "change_feed = \"off\"\n")
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("full reconcile", seconds: 60), "\(daemon.text)")
        try w.disable("hu2")
        try await Task.sleep(for: .seconds(2))
        #expect(try !w.isInactive("hu2@e2e.example.com"), "no feed yet: the full run an hour away is the only way")
        // The reloaded file turns the feed on: the listener starts, its first pass catches hu2.
        let text = try String(contentsOfFile: w.config, encoding: .utf8)
        try text.replacingOccurrences(of: "change_feed = \"off\"", with: "change_feed = \"syncrepl\"")
            .write(toFile: w.config, atomically: true, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        #expect(await daemon.waitForLog("change feed: restarting with the reloaded configuration", seconds: 30), "\(daemon.text)")
        #expect(await daemon.waitForLog("change feed connected", seconds: 30), "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("hu2@e2e.example.com") }, "\(daemon.text)")
        #expect(await daemon.terminate() == 0)
    }

    @Test func anOffboardingGoesBeforeAThousandQueuedInvites() async throws {
        let joiners = (1...1000).map { World.Person(String(format: "j%04d", $0)) }
        let staff = (1...5).map { World.Person("s\($0)") }
        let seed: [JSONValue] = staff.map { ["email": .string($0.mail!), "full_name": .string($0.name), "role": "editor"] }
        let w = try World(people: joiners + staff, groups: ["staff": (joiners + staff).map(\.uid)], seedUsers: seed,
                          policy: "max_deactivations_percent = 100",
                          sandboxArguments: ["--sensitive-limit", "20", "--sensitive-window", "2"],
                          extraConfig: World.daemonConfig())
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("change feed connected", seconds: 60), "\(daemon.text)")
        // The drain of the invites has begun (10 writes a second: the whole queue takes about 100 s).
        #expect(await DaemonProcess.until(seconds: 60) { try w.requests("POST", "/api/users/invite").count >= 30 })

        try w.disable("s2")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("s2@e2e.example.com") }, "\(daemon.text)")
        let invitesBefore = try w.requests("POST", "/api/users/invite").count
        #expect(invitesBefore < 500, "the offboarding did not wait for the backlog: \(invitesBefore) invites were sent first")
        #expect(try w.requests("POST", "/api/users/").filter { $0["status"]?.int == 429 }.isEmpty, "no 429 provoked")
        #expect(await daemon.terminate() == 0)
    }

    @Test func aKillWithTheQueuePendingLosesNothingAndSendsNothingTwice() async throws {
        let joiners = (1...120).map { World.Person(String(format: "k%04d", $0)) }
        let staff = (1...3).map { World.Person("t\($0)") }
        let seed: [JSONValue] = staff.map { ["email": .string($0.mail!), "full_name": .string($0.name), "role": "editor"] }
        let w = try World(people: joiners + staff, groups: ["staff": (joiners + staff).map(\.uid)], seedUsers: seed,
                          policy: "max_deactivations_percent = 100",
                          sandboxArguments: ["--sensitive-limit", "10", "--sensitive-window", "1"],
                          extraConfig: World.daemonConfig())
        var daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("change feed connected", seconds: 60), "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try w.requests("POST", "/api/users/invite").count >= 20 })
        // An offboarding that cannot land now: MixerAI refuses deactivations for a while.
        _ = try w.sandbox.hook("POST", "faults", ["path_prefix": "/api/users/", "method": "POST", "kind": "status",
                                                  "status": 503, "times": 1000,
                                                  "body": ["error": "maintenance"]])
        try w.disable("t1")
        // (The fault refuses invites too: wait for the leaver's own escrow line.)
        let first = daemon
        #expect(await DaemonProcess.until(seconds: 30) {
            first.text.split(separator: "\n").contains { $0.contains("in escrow") && $0.contains("t1@e2e.example.com") }
        }, "\(daemon.text)")
        await daemon.kill9()

        // The dead daemon's queue is on disk: status shows the leaver as PENDING OFFBOARD and the invites left.
        let status = try await w.run("status")
        #expect(status.stdout.contains("PENDING OFFBOARD: t1@e2e.example.com"), "\(status.stdout)")
        #expect(status.stdout.contains("durable write queue:"), "\(status.stdout)")
        _ = try w.sandbox.hook("DELETE", "faults")

        daemon = try DaemonProcess(w, logName: "daemon-2.log")
        #expect(await DaemonProcess.until(seconds: 60) { try w.isInactive("t1@e2e.example.com") }, "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 90) { try w.users().count == 2 + 123 }, "every joiner invited")
        // Nothing sent twice: one accepted invite per joiner.
        let invites = try w.requests("POST", "/api/users/invite").filter { $0["status"]?.int == 200 || $0["status"]?.int == 201 }
        let emails = invites.compactMap { $0["body"]?["email"]?.string }
        #expect(emails.count == Set(emails).count, "duplicate invites: \(emails.count - Set(emails).count)")
        #expect(Set(emails).count == 120)
        #expect(await daemon.terminate() == 0)
    }

    @Test func theFeedResumesFromItsCookieAfterSlapdRestartsAndCatchesALeaverOfTheOutage() async throws {
        let slapd = try await Slapd.start(directory: try TestDirectory.env("MIXER_SYNC_TEST_RESTART"))
        var running: Slapd? = slapd
        defer { running?.stop() }
        let people = (1...10).map { World.Person("rs\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)],
                          policy: "max_deactivations_percent = 100", extraConfig: World.daemonConfig(),
                          ldapURL: slapd.url)
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("change feed connected", seconds: 60), "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 30) { try w.users().count == 12 })

        // slapd dies; the daemon keeps retrying. A leaver is made while it is down (offline, slapmodify), so no
        // session could have heard of it.
        slapd.stop()
        running = nil
        #expect(await daemon.waitForLog("change feed lost", seconds: 30), "\(daemon.text)")
        let ldif = w.folder + "/offline.ldif"
        try "dn: \(w.dn("rs5"))\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n-\n"
            .write(toFile: ldif, atomically: true, encoding: .utf8)
        let offline = try CommandLineTests.runShell("slapmodify -F '\(slapd.directory)/slapd.d' -n1 -l '\(ldif)' 2>&1; echo rc=$?")
        #expect(offline.contains("rc=0"), "\(offline)")
        let again = try await Slapd.start(directory: slapd.directory, url: slapd.url)
        running = again
        #expect(await daemon.waitForLog("change feed connected", count: 2, seconds: 40), "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 30) { try w.isInactive("rs5@e2e.example.com") }, "\(daemon.text)")
        // The second session resumed from the cookie: the refresh sent only what changed, not the whole subtree.
        let connects = daemon.text.split(separator: "\n").filter { $0.contains("change feed connected") }
        #expect(connects.first?.contains("feed.resumed=false") == true, "\(connects)")
        #expect(connects.last?.contains("feed.resumed=true") == true, "\(connects)")
        #expect(await daemon.terminate() == 0)
    }
}
