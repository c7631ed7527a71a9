import Foundation
import Sandbox
import Testing
import TestSupport

/// The report is a contract for every run (docs/report.schema.json): dry, applied, held, and
/// failed — directory down, partial read — each carries every top-level field (`plan_hash` and `audit` included,
/// null where a failed run could not compute them) and every change carries its nine fields. `plan` and `apply`
/// print their one-line outcome on stdout whatever the exit code.
@Suite struct ReportContractTests {
    static let changeKeys = ["kind", "anchor", "dn", "email", "mixer_user_id", "from", "to", "reason", "reasons", "status"]

    func check(_ r: World.Result, mode: String, outcome: String, status: Int32,
               sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(r.status == status, "\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.report["mode"] as? String == mode, sourceLocation: sourceLocation)
        #expect(r.report["outcome"] as? String == outcome, "\(r.report["errors"] ?? "")", sourceLocation: sourceLocation)
        for key in ["plan_hash", "audit", "snapshot", "gates", "changes", "conflicts", "manual_actions", "counts", "errors"] {
            #expect(r.report.keys.contains(key), "\(mode)/\(outcome) lacks \(key)", sourceLocation: sourceLocation)
        }
        for change in r.changes {
            #expect(Set(change.keys).isSuperset(of: Self.changeKeys), "\(change.keys.sorted())", sourceLocation: sourceLocation)
        }
        let line = "\(mode): \(outcome) · plan "
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix(line) }, "\(r.stdout)", sourceLocation: sourceLocation)
        let data = try JSONSerialization.data(withJSONObject: r.report)
        let violations = try JSONSchema.report().violations(try #require(JSONValue.parse(data)))
        #expect(violations.isEmpty, "\(violations)", sourceLocation: sourceLocation)
    }

    @Test func everyKindOfRunWritesTheWholeReport() async throws {
        let people = (1...6).map { World.Person("rc\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)], policy: "max_deactivations = 1")
        let dry = try await w.run("plan")
        try check(dry, mode: "dry-run", outcome: "changes", status: 2)
        let invite = try #require(dry.changes.first { $0["kind"] as? String == "invite" })
        #expect(invite["mixer_user_id"] is NSNull, "an invite's mixer_user_id is null, not absent")
        try check(try await w.run("apply"), mode: "apply", outcome: "applied", status: 0)
        try check(try await w.run("plan"), mode: "dry-run", outcome: "in-sync", status: 0)

        for uid in ["rc1", "rc2", "rc3"] { try w.disable(uid) }
        let held = try await w.run("plan")
        try check(held, mode: "dry-run", outcome: "held", status: 3)
        #expect(held.changes.filter { $0["kind"] as? String == "deactivate" }.count == 3)
        try check(try await w.run("apply"), mode: "apply", outcome: "held", status: 3)

        // The directory down: nothing read, outcome error, exit 1 — plan_hash and audit are null, not absent.
        let text = try String(contentsOfFile: w.config, encoding: .utf8)
        let down = text.replacingOccurrences(of: "url = \"\(w.ldapURL)\"", with: "url = \"ldap://127.0.0.1:\(DaemonProcessTests.freePort())\"")
        try down.write(toFile: w.config, atomically: true, encoding: .utf8)
        let failed = try await w.run("plan")
        try check(failed, mode: "dry-run", outcome: "error", status: 1)
        #expect(failed.report["plan_hash"] is NSNull)
        try check(try await w.run("apply"), mode: "apply", outcome: "error", status: 1)
        try text.write(toFile: w.config, atomically: true, encoding: .utf8)
    }

    @Test func aPartialReadIsHeldWithTheWholeReport() async throws {
        // A rule whose subtree holds a referral (the test directory's ou=partners): read, but not all of it.
        let w = try World(people: [.init("pr1")], groups: ["editors": ["pr1"]], extraUserRules: """
            [[directory.users]]
            name = "partners"
            base = "ou=partners,dc=example,dc=com"
            filter = "(objectClass=inetOrgPerson)"
            """)
        let r = try await w.run("plan")
        try check(r, mode: "dry-run", outcome: "held", status: 3)
        #expect(r.report["snapshot"].flatMap { ($0 as? [String: Any])?["complete"] as? Bool } == false)
        #expect(try w.writes().isEmpty, "no MixerAI write from a partial read")
    }

    @Test func aConfigErrorStillPrintsTheOutcomeLine() throws {
        for (command, mode) in [("plan", "dry-run"), ("apply", "apply")] {
            let run = try CommandLineTests.run([command, "--config", "/nonexistent-\(UUID().uuidString).toml"])
            #expect(run.status == 1)
            #expect(run.stdout.hasPrefix("\(mode): error · plan none"), "\(run.stdout)")
        }
    }
}
