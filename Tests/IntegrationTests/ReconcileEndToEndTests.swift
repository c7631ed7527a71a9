import Foundation
import Sandbox
import Testing
import TestSupport

/// plan / apply / approve / explain against the real test slapd and a real mixerai-sandbox, through the binary.
@Suite(.serialized) struct ReconcileEndToEndTests {
    static let editors = (1...5).map { "u\($0)" }

    @Test func joinerLeaverMoverAndQuietReruns() async throws {
        let w = try World(people: (1...6).map { World.Person("u\($0)") }, groups: ["editors": Self.editors],
                          policy: "max_deactivations_percent = 100\nmax_shrink_percent = 100")
        var r = try await w.run("plan")
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.kinds() == Self.editors.map { "invite \($0)@e2e.example.com" })
        #expect(try w.writes().isEmpty, "a dry run writes nothing")
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.changes.allSatisfy { $0["status"] as? String == "applied" })
        let users = try w.users()
        for uid in Self.editors { #expect(users["\(uid)@e2e.example.com"] != nil) }
        // Single-brand invites at the global role need no PUT (decision 5): one write each.
        #expect(try w.writes().count == 5)
        r = try await w.run("plan")
        #expect(r.status == 0 && r.changes.isEmpty, "in sync after apply: \(r.kinds())")

        // Leavers by each kind of evidence and by deletion; a mover; a joiner.
        try w.ldap("""
            dn: \(w.dn("u1"))
            changetype: modify
            add: employeeType
            employeeType: terminated

            dn: \(w.dn("u2"))
            changetype: modrdn
            newrdn: uid=u2
            deleteoldrdn: 1
            newsuperior: \(w.leavers)

            dn: \(w.dn("u3"))
            changetype: modify
            add: pwdAccountLockedTime
            pwdAccountLockedTime: 000001010000Z

            dn: \(w.dn("u4"))
            changetype: delete

            dn: cn=editors,\(w.groups)
            changetype: modify
            delete: member
            member: \(w.dn("u5"))
            -
            add: member
            member: \(w.dn("u6"))

            dn: cn=viewers,\(w.groups)
            changetype: modify
            add: member
            member: \(w.dn("u5"))
            """)
        r = try await w.run("plan")
        #expect(r.status == 2)
        #expect(r.kinds() == ["deactivate u1@e2e.example.com", "deactivate u2@e2e.example.com", "deactivate u3@e2e.example.com",
                             "deactivate u4@e2e.example.com", "invite u6@e2e.example.com", "set_role u5@e2e.example.com"])
        let reasons = r.changes.map { ($0["reason"] as? [String] ?? []).joined(separator: " | ") }.joined(separator: "\n")
        #expect(reasons.contains("leaver evidence: disabled_filter"))
        #expect(reasons.contains("leaver evidence: leavers_base"))
        #expect(reasons.contains("leaver evidence: account_lock"))
        #expect(reasons.contains("absent from a complete snapshot"))
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let after = try w.users()
        for uid in ["u1", "u2", "u3", "u4"] {
            let u = after["\(uid)@e2e.example.com"]
            #expect(u?["user_metadata"]?["status"]?.string == "inactive", "\(uid) deactivated")
            #expect(u?["user_metadata"]?["role"]?.string == "viewer", "\(uid) stripped to viewer")
            #expect(try w.brands("\(uid)@e2e.example.com").isEmpty, "\(uid) has no brand left")
        }
        #expect(try w.brands("u5@e2e.example.com") == ["Brand B": "viewer"])
        #expect(after["u6@e2e.example.com"] != nil)
        r = try await w.run("plan")
        #expect(r.status == 0 && r.changes.isEmpty, "in sync again: \(r.kinds())")
        // Offboarding goes first in the queue.
        let explain = try await w.run("explain", "u1@e2e.example.com")
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("leaver evidence: disabled_filter"))
        #expect(try await w.run("explain", "nobody@nowhere.example").status == 1)
    }

    @Test func aRenameKeepsTheAccount() async throws {
        let w = try World(people: [World.Person("ren1")], groups: ["editors": ["ren1"]])
        #expect(try await w.run("apply").status == 0)
        let id = try w.users()["ren1@e2e.example.com"]?["id"]?.string
        try w.ldap("""
            dn: \(w.dn("ren1"))
            changetype: modify
            replace: mail
            mail: Renamed.One@E2E.example.com
            -
            replace: title
            title: Senior Writer
            """)
        let r = try await w.run("plan")
        #expect(r.status == 2)
        #expect(r.kinds() == ["update ren1@e2e.example.com"], "no deactivate + invite")
        let manual = r.list("manual_actions")
        #expect(manual.contains { $0["kind"] as? String == "email_change" && $0["email"] as? String == "ren1@e2e.example.com"
            && $0["new_email"] as? String == "renamed.one@e2e.example.com" })
        #expect(try await w.run("apply").status == 0)
        #expect(try w.users()["ren1@e2e.example.com"]?["id"]?.string == id)
        #expect(try w.users()["renamed.one@e2e.example.com"] == nil)
        #expect(try await w.run("plan").status == 0)
    }

    @Test func conflictsManualAccountsBreakGlassAndTheLastAdmin() async throws {
        let w = try World(
            people: [World.Person("dupa", mail: "dup@e2e.example.com"), World.Person("dupb", mail: "DUP@e2e.example.com"),
                     World.Person("bg", mail: "breakglass@example.com", extra: ["employeeType: terminated"]),
                     World.Person("boss", mail: "boss@e2e.example.com", extra: ["employeeType: terminated"])],
            groups: ["editors": ["dupa", "dupb", "bg"], "admins": ["boss"]],
            seedUsers: [["email": "manual@e2e.example.com", "full_name": "Manual", "role": "editor", "global_role": "editor"],
                        ["email": "boss@e2e.example.com", "full_name": "Boss", "role": "admin", "global_role": "admin"]],
            policy: "min_admins = 3\nallow_admin_grants = true\nmax_deactivations_percent = 100")
        let r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.changes.isEmpty, "nothing to do: \(r.kinds())")
        #expect(r.list("conflicts").contains { $0["kind"] as? String == "duplicate_email" && $0["email"] as? String == "dup@e2e.example.com" })
        #expect(r.list("manual_actions").contains { $0["kind"] as? String == "last_admin" && $0["email"] as? String == "boss@e2e.example.com" })
        let audit = r.report["audit"] as? [String: Any]
        #expect((audit?["unlinked"] as? [String])?.contains("manual@e2e.example.com") == true)
        #expect((audit?["admins"] as? [String])?.contains("boss@e2e.example.com") == true)
        #expect(try w.writes().isEmpty, "break-glass, the manual account, the conflict and the last admin are untouched")
        #expect(r.outcome == "in-sync")
    }

    @Test func aThirdVanishingIsHeldThenApprovedByHashOnce() async throws {
        let people = (1...10).map { World.Person("v\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], policy: "max_deactivations_percent = 100")
        #expect(try await w.run("apply").status == 0)
        let before = try w.writes().count
        try w.ldap(["v1", "v2", "v3"].map { "dn: \(w.dn($0))\nchangetype: delete" }.joined(separator: "\n\n"))
        var r = try await w.run("plan")
        #expect(r.status == 3, "\(r.stdout)")
        #expect(r.outcome == "held")
        #expect(r.gate("max_shrink_percent") == "hold")
        let hash = r.planHash
        r = try await w.run("apply")
        #expect(r.status == 3)
        #expect(try w.writes().count == before, "a held plan applies nothing")
        #expect(r.list("pending_offboard").count == 3, "the held leavers are listed")
        // scripts/test renders this held report's page in headless Chromium after the tests.
        let runId = try #require(r.report["run_id"] as? String)
        let page = w.folder + "/reports/\(runId).html"
        #expect(FileManager.default.fileExists(atPath: page))
        let kept = try TestDirectory.dir + "/held-report.html"
        try? FileManager.default.removeItem(atPath: kept)
        try FileManager.default.copyItem(atPath: page, toPath: kept)
        #expect(try await w.run("approve", "sha256:0000").status == 1, "unknown hash")
        #expect(try await w.run("approve", hash).status == 0)
        #expect(try await w.run("approve", hash).status == 1, "an approval is good once")
        r = try await w.run("apply")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.kinds() == ["deactivate v1@e2e.example.com", "deactivate v2@e2e.example.com", "deactivate v3@e2e.example.com"])
        #expect(r.report["approved_by"] as? String == hash)
        #expect(try await w.run("plan").status == 0)
    }

    @Test func aPartialReadIsHeldAndAFailedReadIsAnError() async throws {
        let w = try World(people: [World.Person("p1")], groups: ["editors": ["p1"]],
                          extraUserRules: "\n[[directory.users]]\nname = \"partners\"\nbase = \"ou=partners,dc=example,dc=com\"\nfilter = \"(objectClass=inetOrgPerson)\"\n")
        var r = try await w.run("apply")
        #expect(r.status == 3, "a referral makes the read incomplete: \(r.stdout)\(r.stderr)")
        #expect(r.outcome == "held")
        #expect(r.gate("completeness") == "hold")
        #expect(try w.writes().isEmpty)
        try "not-the-password".write(toFile: w.folder + "/bind-password", atomically: true, encoding: .utf8)
        r = try await w.run("plan")
        #expect(r.status == 1)
        #expect(r.outcome == "error")
        #expect(try w.writes().isEmpty)
    }

    @Test func aSavedPlanIsRefusedWhenEitherSideChanged() async throws {
        let w = try World(people: [World.Person("s1"), World.Person("s2")], groups: ["editors": ["s1"]])
        let plan = w.folder + "/saved-plan.json"
        #expect(try await w.run("plan", "--out", plan).status == 2)
        try w.ldap("dn: cn=editors,\(w.groups)\nchangetype: modify\nadd: member\nmember: \(w.dn("s2"))")
        var r = try await w.run("apply", plan)
        #expect(r.status == 1)
        #expect((r.report["errors"] as? [String])?.first?.contains("changed since") == true)
        #expect(try w.writes().isEmpty)
        #expect(try await w.run("plan", "--out", plan).status == 2)
        r = try await w.run("apply", plan)
        #expect(r.status == 0)
        #expect(r.kinds() == ["invite s1@e2e.example.com", "invite s2@e2e.example.com"])
    }
}
