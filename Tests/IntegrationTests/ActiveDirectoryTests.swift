import Directory
import Foundation
import LDAPClient
import Reconcile
import Sandbox
import Testing
import TestSupport

/// Against the Samba Active Directory DC that scripts/test provisions on 127.0.0.1 (scripts/lib/samba.sh): the AD
/// schema out of the box, objectGUID anchors, a 3,000-member group read through ranged retrieval, nesting, disabled
/// and expired accounts, continuation references, and a rename end to end.
@Suite(.serialized) struct ActiveDirectoryTests {
    static let base = "DC=example,DC=test"
    static let people = "OU=People,DC=example,DC=test"
    static let groups = "OU=Groups,DC=example,DC=test"

    static func settings(usersBase: String = people, filter: String = "(&(objectClass=user)(!(objectClass=computer)))")
        throws -> DirectorySettings {
        DirectorySettings(urls: [try TestDirectory.env("MIXER_SYNC_TEST_AD_URL")], bindMethod: .simple,
                          bindDN: "CN=Administrator,CN=Users,\(base)",
                          bindPasswordFile: try TestDirectory.env("MIXER_SYNC_TEST_AD_PASSWORD_FILE"),
                          flavor: .activeDirectory,
                          users: [UserRule(name: "staff", base: usersBase, scope: .sub, filter: filter)],
                          groups: GroupSettings(base: groups), pageSize: 1000, timeout: .seconds(20),
                          readDeadline: .seconds(120))
    }

    @Test func everyoneOfAThreeThousandMemberGroupNestingDisabledAndExpired() async throws {
        let users = Int(try TestDirectory.env("MIXER_SYNC_TEST_AD_USERS"))!
        let snapshot = try await TestDirectory.read(try Self.settings())
        #expect(snapshot.people.count == users)
        #expect(snapshot.proof.entries == users)
        // Ranged retrieval: the group's members beyond the first 1,500 were fetched (`member;range=1500-*`).
        let allStaff = "CN=all-staff,\(Self.groups)"
        let members = snapshot.people.filter { p in p.groups.contains { g in g.dn.caseInsensitiveCompare(allStaff) == .orderedSame } }
        #expect(members.count == users, "members of the \(users)-member group read")
        #expect(snapshot.people.first { $0.uid == "ad03000" }.map { p in p.groups.contains { g in g.dn.hasPrefix("CN=editors") } } == true,
                "nested: all-staff is a member of editors")
        // objectGUID in its canonical lowercase 8-4-4-4-12 form, unique.
        let guid = try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        #expect(snapshot.people.allSatisfy { $0.anchor.wholeMatch(of: guid) != nil }, "\(snapshot.people.first?.anchor ?? "")")
        #expect(Set(snapshot.people.map(\.anchor)).count == users)
        // userAccountControl 0x2 (every 500th) and accountExpires in the past (every 700th).
        let locked = Set(snapshot.people.filter { $0.leaverEvidence.contains(.accountLock) }.compactMap(\.uid))
        let expected = Set((1...users).filter { $0 % 500 == 0 || $0 % 700 == 0 }.map { String(format: "ad%05d", $0) })
        #expect(locked == expected)
        #expect(snapshot.people.first { $0.uid == "ad00001" }?.email == "ad00001@example.test")
    }

    @Test func continuationReferencesAtTheDomainRootMakeTheReadIncomplete() async throws {
        // Searching the whole domain meets AD's references to its configuration and DNS partitions: with
        // referrals off, that is an incomplete read (held), never a smaller one.
        let failure = try #require(await TestDirectory.failure(try Self.settings(usersBase: Self.base)))
        #expect(failure.stage == .incomplete)
        #expect(failure.message.contains("continuationReference") || failure.message.contains("referral"), "\(failure.message)")
    }

    /// A sandbox and a config reading the AD users whose sAMAccountName starts with `prefix` (ten of them),
    /// mapped through the nested editors group to Editor on Brand A.
    static func world(prefix: String, extra: String = "") throws -> (folder: String, config: String, sandbox: SandboxProcess) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mixer-sync-ad-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let seed: JSONValue = ["brands": [["name": "Brand A"]],
                               "users": [["email": "mixer-sync@example.com", "password": "sandbox-password",
                                          "full_name": "mixer-sync", "role": "admin", "global_role": "admin"]]]
        try seed.text().write(toFile: folder + "/seed.json", atomically: true, encoding: .utf8)
        let sandbox = try SandboxProcess(["--seed", folder + "/seed.json"])
        try "sandbox-password\n".write(toFile: folder + "/mixerai-password", atomically: true, encoding: .utf8)
        chmod(folder + "/mixerai-password", 0o600)
        let config = folder + "/ad.toml"
        try """
        [directory]
        url = "\(try TestDirectory.env("MIXER_SYNC_TEST_AD_URL"))"
        flavor = "active-directory"
        bind_dn = "CN=Administrator,CN=Users,\(Self.base)"
        bind_password_file = "\(try TestDirectory.env("MIXER_SYNC_TEST_AD_PASSWORD_FILE"))"

        [[directory.users]]
        name = "staff"
        base = "\(Self.people)"
        filter = "(&(objectClass=user)(sAMAccountName=\(prefix)*))"

        [directory.groups]
        base = "\(Self.groups)"

        [[roles]]
        group = "CN=editors,\(Self.groups)"
        role = "Editor"
        brand = "Brand A"

        \(sandbox.configSection)

        [policy]
        max_deactivations_percent = 100

        [state]
        directory = "\(folder)/state"

        [report]
        directory = "\(folder)/reports"
        \(extra)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return (folder, config, sandbox)
    }

    static func ldapModify(_ ldif: String, folder: String) throws -> Bool {
        let file = folder + "/change-\(UUID().uuidString.prefix(6)).ldif"
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        let out = try CommandLineTests.runShell("ldapmodify -x -H ldap://127.0.0.1 -D 'Administrator@example.test' -y '"
            + (try TestDirectory.env("MIXER_SYNC_TEST_AD_PASSWORD_FILE")) + "' -f '\(file)' >/dev/null 2>&1; echo rc=$?")
        return out.contains("rc=0")
    }

    @Test func aDisabledUserIsOffboardedByUSNChangedPollingWithoutAFullRun() async throws {
        let (folder, config, sandbox) = try Self.world(prefix: "ad0002",
            extra: "\n[daemon]\nfull_sync_interval = \"1h\"\nusn_poll_interval = \"500ms\"\nmetrics_listen = \"127.0.0.1:\(DaemonProcessTests.freePort())\"\n")
        defer { sandbox.stop() }
        // "auto" finds no syncrepl on AD and polls uSNChanged.
        try await Self.offboardsThroughTheFeed(folder: folder, config: config, sandbox: sandbox, feedLine: "polling uSNChanged",
            change: "dn: CN=ad00025,\(Self.people)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 546\n",
            leaver: "ad00025@example.test")
        #expect(Self.reEnable(folder: folder))
    }

    /// `mixer-sync COMMAND` on a world, and the report it wrote.
    static func run(_ command: String, folder: String, config: String) throws -> (Int32, [String: Any]) {
        let r = try CommandLineTests.run([command, "--config", config])
        let data = FileManager.default.contents(atPath: folder + "/reports/latest.json") ?? Data("{}".utf8)
        return (r.status, (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// The first apply of a ten-person world: every one invited.
    static func applyInvitesTen(folder: String, config: String) throws -> (Int32, [String: Any]) {
        let (status, report) = try run("apply", folder: folder, config: config)
        #expect(status == 0, "\(report["errors"] ?? "")")
        #expect((report["changes"] as? [[String: Any]])?.filter { $0["kind"] as? String == "invite" }.count == 10)
        return (status, report)
    }

    static func reEnable(folder: String) -> Bool {
        (try? ldapModify("dn: CN=ad00025,\(people)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 544\n", folder: folder)) ?? false
    }

    @Test func aRenameIsAnUpdateAndAnEmailChangeNeverALeaveAndJoin() async throws {
        let (folder, config, sandbox) = try Self.world(prefix: "ad0001")
        defer { sandbox.stop() }
        func run(_ command: String) throws -> (Int32, [String: Any]) { try Self.run(command, folder: folder, config: config) }
        // ad00010 … ad00019: ten people through the nested editors group; every one invited.
        var (status, report) = try Self.applyInvitesTen(folder: folder, config: config)

        // ad00012's mail changes in AD (same objectGUID).
        let ldif = folder + "/rename.ldif"
        try "dn: CN=ad00012,\(Self.people)\nchangetype: modify\nreplace: mail\nmail: ad00012.renamed@example.test\n-\nreplace: title\ntitle: Lead Engineer\n"
            .write(toFile: ldif, atomically: true, encoding: .utf8)
        let out = try CommandLineTests.runShell("ldapmodify -x -H ldap://127.0.0.1 -D 'Administrator@example.test' -y '"
            + (try TestDirectory.env("MIXER_SYNC_TEST_AD_PASSWORD_FILE")) + "' -f '\(ldif)' >/dev/null 2>&1; echo rc=$?")
        #expect(out.contains("rc=0"), "\(out)")
        (status, report) = try run("plan")
        #expect(status == 2, "a change pending")
        let kinds = (report["changes"] as? [[String: Any]])?.map { "\($0["kind"] ?? "") \($0["email"] ?? "")" } ?? []
        #expect(kinds == ["update ad00012@example.test"], "\(kinds)")
        let manual = (report["manual_actions"] as? [[String: Any]]) ?? []
        #expect(manual.contains { $0["kind"] as? String == "email_change" && $0["new_email"] as? String == "ad00012.renamed@example.test" },
                "\(manual)")
        // Put it back for the other tests.
        try "dn: CN=ad00012,\(Self.people)\nchangetype: modify\nreplace: mail\nmail: ad00012@example.test\n-\nreplace: title\ntitle: Engineer\n"
            .write(toFile: ldif, atomically: true, encoding: .utf8)
        _ = try CommandLineTests.runShell("ldapmodify -x -H ldap://127.0.0.1 -D 'Administrator@example.test' -y '"
            + (try TestDirectory.env("MIXER_SYNC_TEST_AD_PASSWORD_FILE")) + "' -f '\(ldif)' >/dev/null 2>&1")
    }

    /// Ten throwaway AD users `<prefix>00001…` (members of editors, hence Editor on Brand A), removed by `remove`.
    static func addUsers(prefix: String, count: Int = 10, folder: String) throws -> [String] {
        let names = (1...count).map { String(format: "\(prefix)%05d", $0) }
        var ldif = names.map { u in
            "dn: CN=\(u),\(people)\nchangetype: add\nobjectClass: user\nsAMAccountName: \(u)\nmail: \(u)@example.test\n"
                + "givenName: Temp\nsn: \(u)\nuserAccountControl: 544\n"
        }.joined(separator: "\n")
        ldif += "\ndn: CN=editors,\(groups)\nchangetype: modify\nadd: member\n"
            + names.map { "member: CN=\($0),\(people)\n" }.joined() + "\n"
        #expect(try ldapModify(ldif, folder: folder), "added \(names.count) users")
        return names
    }

    static func remove(_ names: [String], folder: String) {
        for u in names { _ = try? ldapModify("dn: CN=\(u),\(people)\nchangetype: delete\n", folder: folder) }
    }

    @Test func aDeletedUserIsOffboardedByDirSyncWithoutAFullRun() async throws {
        let (folder, config, sandbox) = try Self.world(prefix: "dsx",
            extra: "\n[daemon]\nfull_sync_interval = \"1h\"\nchange_feed = \"dirsync\"\nusn_poll_interval = \"500ms\"\n"
                + "metrics_listen = \"127.0.0.1:\(DaemonProcessTests.freePort())\"\n")
        defer { sandbox.stop() }
        let names = try Self.addUsers(prefix: "dsx", folder: folder)
        defer { Self.remove(names, folder: folder) }
        // A deletion leaves nothing for uSNChanged to find under the base; DirSync returns the deleted object.
        try await Self.offboardsThroughTheFeed(folder: folder, config: config, sandbox: sandbox, feedLine: "polling DirSync",
            change: "dn: CN=dsx00004,\(Self.people)\nchangetype: delete\n", leaver: "dsx00004@example.test")
    }

    /// The daemon polling AD every 0.5 s: once its first full run invited the ten, `change` is made in AD and the
    /// `leaver` (only that account) is deactivated within a few polling intervals, with no second full run.
    static func offboardsThroughTheFeed(folder: String, config: String, sandbox: SandboxProcess, feedLine: String,
                                        change: String, leaver: String) async throws {
        let daemon = try DaemonProcess(config: config, folder: folder)
        @Sendable func users() throws -> [String: JSONValue] { try Self.users(sandbox) }
        #expect(await DaemonProcess.until(seconds: 60) { daemon.text.contains(feedLine) }, "\(daemon.text)")
        #expect(await DaemonProcess.until(seconds: 60) { try users().count == 11 }, "\(daemon.text)")
        let changedAt = Date()
        #expect(try Self.ldapModify(change, folder: folder))
        #expect(await DaemonProcess.until(seconds: 30) {
            try users()[leaver]?["user_metadata"]?["status"]?.string == "inactive"
        }, "\(daemon.text)")
        // The feed, not a full run (checked below); the latency is a figure of Benchmarks/ad.sh, not a timed test.
        let took = Date().timeIntervalSince(changedAt)
        print("offboarded \(Int(took * 1000)) ms after the change in AD (0.5 s poll)")
        #expect(daemon.text.components(separatedBy: "full reconcile").count - 1 == 1, "no second full run")
        #expect(try users().values.filter { $0["user_metadata"]?["status"]?.string == "inactive" }.count == 1, "only the leaver")
        #expect(await daemon.terminate() == 0)
    }

    @Test func aThirdVanishingOnADIsHeldAndNothingIsDeactivated() async throws {
        let (folder, config, sandbox) = try Self.world(prefix: "dsv")
        defer { sandbox.stop() }
        let names = try Self.addUsers(prefix: "dsv", folder: folder)
        defer { Self.remove(names, folder: folder) }
        func run(_ command: String) throws -> (Int32, [String: Any]) { try Self.run(command, folder: folder, config: config) }
        var (status, report) = try Self.applyInvitesTen(folder: folder, config: config)
        Self.remove(Array(names.prefix(3)), folder: folder)
        (status, report) = try run("apply")
        #expect(status == 3, "held: \(report["outcome"] ?? "")")
        #expect(report["outcome"] as? String == "held")
        let gates = (report["gates"] as? [[String: Any]]) ?? []
        #expect(gates.contains { $0["name"] as? String == "max_shrink_percent" && $0["verdict"] as? String == "hold" }, "\(gates)")
        #expect((report["pending_offboard"] as? [[String: Any]])?.count == 3, "the held leavers are listed")
        #expect(try Self.users(sandbox).values.allSatisfy { $0["user_metadata"]?["status"]?.string != "inactive" }, "nothing deactivated")
    }

    static func users(_ sandbox: SandboxProcess) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for u in try sandbox.hook("GET", "state")["users"]?.array ?? [] { if let e = u["email"]?.string { out[e] = u } }
        return out
    }
}
