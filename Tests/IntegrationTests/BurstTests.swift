import Foundation
import Sandbox
import Testing
import TestSupport

/// A mass change arriving through the change feed is judged whole (docs/change-feed.md): with the daemon running on
/// a 300-person directory, default gates and an empty 24-hour window, 40 % of the people vanish — in one
/// `ldapdelete`, in 121 separate `ldapdelete` calls 10 ms apart, or disabled by one `ldapmodify` — ten times each.
/// Not one deactivation may reach MixerAI; every burst ends in one held plan of all 121; `approve` of its hash
/// releases exactly those 121. A single leaver is still offboarded by the feed alone.
@Suite(.serialized) struct BurstTests {
    static let size = 300
    static let burst = 121

    @Test func aMassDeletionArrivingThroughTheFeedIsHeldWholeAndNothingLeaks() async throws {
        let people = (1...Self.size).map { World.Person(String(format: "b%03d", $0)) }
        let seed: [JSONValue] = people.map {
            ["email": .string($0.mail!), "full_name": .string($0.name), "job_title": "Writer", "company": "Example Ltd",
             "role": "editor", "global_role": "editor", "signed_in": true]
        }
        // The people who vanish hold their role through a posixGroup (memberUid): slapd's refint overlay, which
        // removes a deleted DN from groupOfNames in the background, would otherwise race the restore between rounds
        // and take back memberships it had just re-added — and those people would really have left every group.
        let victims = Array(people.prefix(Self.burst))
        let w = try World(people: people, groups: ["staff": people.dropFirst(Self.burst).map(\.uid)], seedUsers: seed,
                          sandboxArguments: ["--sensitive-limit", "100000"],
                          extraConfig: World.daemonConfig() + "\n[[roles]]\ngroup = \"cn=burst,ou=groups,BASE\"\nrole = \"Editor\"\n")
        try String(contentsOfFile: w.config, encoding: .utf8).replacingOccurrences(of: "BASE", with: w.base)
            .write(toFile: w.config, atomically: true, encoding: .utf8)
        try w.ldap((["dn: cn=burst,\(w.groups)", "objectClass: posixGroup", "cn: burst", "gidNumber: 5000"]
                    + victims.map { "memberUid: \($0.uid)" }).joined(separator: "\n"), add: true)
        let daemon = try DaemonProcess(w)
        #expect(await daemon.waitForLog("full reconcile", seconds: 90), "\(daemon.text)")
        #expect(await daemon.waitForLog("change feed connected", seconds: 30), "\(daemon.text)")
        #expect(try w.requests("POST", "/api/users/").filter { ($0["path"]?.string ?? "").hasSuffix("/deactivate") }.isEmpty)

        // One leaver alone is still offboarded by the feed (settle time + the writes).
        try w.disable(people.last!.uid)
        #expect(await DaemonProcess.until(seconds: 15) { try w.isInactive(people.last!.mail!) }, "\(daemon.text)")
        let offboarded = try Self.deactivations(w)
        #expect(offboarded == 1)

        let uuids = try Self.entryUUIDs(w)
        let putsBefore = try w.requests("PUT", "/api/users/").count
        var held = 0
        var rounds: [String: Int] = [:]
        for variant in ["one ldapdelete", "121 ldapdeletes 10 ms apart", "one ldapmodify disabling"] {
            for round in 1...10 {
                switch variant {
                case "one ldapdelete":
                    try await Self.shell("ldapdelete \(try Self.admin(w)) " + victims.map { "'\(w.dn($0.uid))'" }.joined(separator: " "))
                case "121 ldapdeletes 10 ms apart":
                    try await Self.shell(try victims.map { "ldapdelete \(try Self.admin(w)) '\(w.dn($0.uid))'; sleep 0.01" }
                        .joined(separator: "; "))
                default:
                    try w.ldap(victims.map { "dn: \(w.dn($0.uid))\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated" }
                        .joined(separator: "\n\n"))
                }
                // The burst ends in one held plan listing all of it.
                held += 1
                let want = held
                let judged = await DaemonProcess.until(seconds: 60) { Self.heldWhole(daemon.text) >= want }
                #expect(judged, "\(variant), round \(round): no held plan of \(Self.burst)\n\(daemon.text.suffix(3000))")
                if !judged { held = Self.heldWhole(daemon.text) }
                rounds[variant, default: 0] += judged ? 1 : 0
                #expect(try Self.deactivations(w) == offboarded, "\(variant), round \(round): a deactivation leaked")
                if variant == "one ldapmodify disabling" && round == 10 { break }  // left held: approved below
                // Undo the burst (the same entryUUIDs, so the people are the same people) and let the feed see it.
                if variant == "one ldapmodify disabling" {
                    try w.ldap(victims.map { "dn: \(w.dn($0.uid))\nchangetype: modify\ndelete: employeeType" }
                        .joined(separator: "\n\n"))
                } else {
                    try Self.add(w, victims.map { w.entry($0) + "\nentryUUID: \(uuids[$0.uid] ?? "")" }.joined(separator: "\n\n"))
                }
                try await Task.sleep(for: .seconds(1))
                #expect(try Self.deactivations(w) == offboarded, "\(variant), round \(round): undoing it leaked a deactivation")
            }
        }
        print("burst held: \(rounds.values.reduce(0, +))/30 (\(rounds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)/10" }.joined(separator: ", "))), leaked deactivations: \(try Self.deactivations(w) - offboarded)")
        #expect(rounds.values.reduce(0, +) == 30)
        #expect(try Self.deactivations(w) == offboarded, "no deactivation reached MixerAI while bursts were held")
        #expect(try w.requests("PUT", "/api/users/").count == putsBefore, "no stripping PUT either")

        // The held plan is listed, and approving its hash releases exactly it: the 121, nobody else.
        let hash = try #require(Self.lastHeldHash(daemon.text))
        let status = try await w.run("status")
        #expect(status.stdout.contains(hash), "\(status.stdout)")
        #expect(try await w.run("approve", hash).status == 0)
        #expect(await DaemonProcess.until(seconds: 60) {
            try victims.allSatisfy { try w.isInactive($0.mail!) }
        }, "\(daemon.text.suffix(3000))")
        let inactive = try w.users().values.filter { $0["user_metadata"]?["status"]?.string == "inactive" }.count
        #expect(inactive == Self.burst + 1, "the 121 and the single leaver, nobody else: \(inactive)")
        #expect(try Self.deactivations(w) == offboarded + Self.burst)
        #expect(await daemon.terminate() == 0)
    }

    /// Deactivations MixerAI accepted (the sandbox's request log).
    static func deactivations(_ w: World) throws -> Int {
        try w.requests("POST", "/api/users/").filter {
            ($0["path"]?.string ?? "").hasSuffix("/deactivate") && $0["status"]?.int == 200
        }.count
    }

    /// Held fast-path passes that listed the whole burst.
    static func heldWhole(_ log: String) -> Int {
        log.split(separator: "\n").filter {
            $0.contains("change feed") && $0.contains("run.outcome=held") && $0.contains("run.changes=\(burst)")
        }.count
    }

    /// The plan hash of the last held change-feed report named in the log.
    static func lastHeldHash(_ log: String) -> String? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("run.outcome=held") && $0.contains("run.changes=\(burst)") }),
              let path = line.components(separatedBy: "run.report=").last?.split(separator: " ").first,
              let data = FileManager.default.contents(atPath: String(path)),
              let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return report["plan_hash"] as? String
    }

    static func admin(_ w: World) throws -> String {
        "-x -H '\(w.ldapURL)' -D 'cn=admin,dc=example,dc=com' -y '\(try TestDirectory.dir)/admin-password'"
    }

    /// uid → entryUUID of the world's people.
    static func entryUUIDs(_ w: World) throws -> [String: String] {
        let out = try CommandLineTests.runShell("ldapsearch -LLL \(try admin(w)) -b '\(w.people)' '(uid=*)' uid entryUUID")
        var map: [String: String] = [:]
        for block in out.components(separatedBy: "\n\n") {
            var uid: String?
            var uuid: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("uid: ") { uid = String(line.dropFirst(5)) }
                if line.hasPrefix("entryUUID: ") { uuid = String(line.dropFirst(11)) }
            }
            if let uid, let uuid { map[uid] = uuid }
        }
        return map
    }

    /// Adds entries with their old entryUUIDs (the relax control lets the rootdn set it).
    static func add(_ w: World, _ ldif: String) throws {
        let file = w.folder + "/restore-\(UUID().uuidString).ldif"
        try (ldif + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let out = try CommandLineTests.runShell("ldapadd -e relax \(try admin(w)) -f '\(file)' >/dev/null 2>&1; echo $?")
        guard out.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else { throw World.Failure(description: "restore failed") }
    }

    /// Runs a shell command off the cooperative pool (a loop of ldapdeletes takes seconds).
    static func shell(_ command: String) async throws {
        let out = try await withCheckedThrowingContinuation { (k: CheckedContinuation<String, any Error>) in
            Thread.detachNewThread {
                do { k.resume(returning: try CommandLineTests.runShell(command + " >/dev/null 2>&1; echo rc=$?")) } catch { k.resume(throwing: error) }
            }
        }
        guard out.contains("rc=0") else { throw World.Failure(description: "\(command.prefix(200)): \(out)") }
    }
}
