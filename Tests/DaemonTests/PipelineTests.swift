import Daemon
import Foundation
import Reconcile
import Report
import State
import Testing

/// The run pipeline (read → recover → plan → gate → apply | queue | hold → report) driven with in-memory fakes:
/// the decisions and their effects, in milliseconds. The integration suite runs the same code against a real
/// slapd, the sandbox and the daemon as a process.
@Suite struct PipelineTests {
    @Test func joinerIsInvitedWithTheRoleOfTheirGroup() async throws {
        let h = try Harness()
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("ada", groups: [Harness.editors])]
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 0 && outcome.report.outcome == .applied, "\(outcome.report.errors)")
        #expect(await h.mixerai.writes(matching: "invite") == ["invite ada@example.com"])
        let ada = await h.mixerai.users.values.first { $0.email == "ada@example.com" }
        #expect(ada?.globalRole == .editor && ada?.brands == ["b-1": .editor])
        #expect(try h.store.links()["ada"] == ada?.id, "the invite is linked to its person")
        // Again: nothing to do, nothing sent.
        let again = await h.reconciler().apply()
        #expect(again.report.outcome == .inSync && again.report.changes.isEmpty)
        #expect(await h.mixerai.writes(matching: "invite").count == 1)
    }

    @Test func leaverIsOffboardedOnceAndTheirRolesKept() async throws {
        let h = try Harness(accounts: [Harness.account("bob", role: .editor), Harness.account("eve", role: .editor)])
        defer { h.cleanUp() }
        h.directory.people = ["bob", "eve"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        #expect(await h.reconciler().apply().exitCode == 0)  // first run: both adopted (linked)
        h.directory.people[0] = FakeDirectory.person("bob", groups: [Harness.editors], leaver: true)
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 0, "\(outcome.report.errors)")
        #expect(outcome.report.changes.map(\.kind) == ["deactivate"])
        #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-bob"])
        let bob = await h.mixerai.users["u-bob"]
        #expect(bob?.active == false && bob?.brands.isEmpty == true, "deactivated and stripped")
        #expect(try h.store.ledger().states["u-bob"]?.role == .editor, "the roles are kept for a return")
        #expect(await h.reconciler().apply().report.changes.isEmpty, "offboarded once")
    }

    @Test func moverGetsTheNewRole() async throws {
        let h = try Harness(accounts: [Harness.account("cy", role: .viewer)])
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("cy", groups: [Harness.viewers])]
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.people = [FakeDirectory.person("cy", groups: [Harness.editors])]
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 0 && outcome.report.counts["applied"] == 1, "\(outcome.report.changes)")
        let cy = await h.mixerai.users["u-cy"]
        #expect(cy?.globalRole == .editor && cy?.brands == ["b-1": .editor] && cy?.active == true)
    }

    @Test func heldPlanSendsNothingUntilApprovedThenExactlyIt() async throws {
        let names = (1...8).map { "p\($0)" }
        let h = try Harness(accounts: names.map { Harness.account($0, role: .editor) }, maxDeactivations: 2)
        defer { h.cleanUp() }
        h.directory.people = names.map { FakeDirectory.person($0, groups: [Harness.editors]) }
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.people = names.enumerated().map { i, n in FakeDirectory.person(n, groups: [Harness.editors], leaver: i < 5) }
        let dry = await h.reconciler().plan(out: h.scratch + "/plan.json")
        #expect(dry.exitCode == 3 && dry.report.outcome == .held)
        let held = await h.reconciler().apply()
        #expect(held.exitCode == 3 && held.report.outcome == .held)
        #expect(held.report.changes.allSatisfy { $0.status == .skipped } && held.report.pendingOffboard.count == 5)
        #expect(held.report.gates.contains { $0.name == "max_deactivations" && $0.verdict == .hold })
        #expect(await h.mixerai.writes(matching: "deactivate").isEmpty, "a held plan sends nothing")
        let hash = try #require(held.report.planHash)
        #expect(dry.report.planHash == hash, "plan and apply judge the same plan")
        _ = try h.store.approve(planHash: hash, at: Date())
        let released = await h.reconciler().apply()
        #expect(released.exitCode == 0 && released.report.approvedBy == hash, "\(released.report.errors)")
        #expect(await h.mixerai.writes(matching: "deactivate").count == 5)
        #expect(try h.store.deactivations(since: Date().addingTimeInterval(-60)) == 0, "approved: not in the rolling window")
    }

    @Test func aFailedOrPartialReadDeactivatesNobody() async throws {
        let h = try Harness(accounts: [Harness.account("fay", role: .editor)])
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("fay", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.failure = SnapshotFailure(stage: .failed, message: "connection refused")
        let failed = await h.reconciler().apply()
        #expect(failed.exitCode == 1 && failed.report.outcome == .error && failed.report.planHash == nil)
        h.directory.failure = SnapshotFailure(stage: .incomplete, message: "size limit exceeded", entriesRead: 0)
        let partial = await h.reconciler().apply()
        #expect(partial.exitCode == 3 && partial.report.outcome == .held)
        #expect(await h.mixerai.writes(matching: "deactivate").isEmpty)
    }

    @Test func crashAfterAnInviteLandedIsRecoveredWithoutASecondInvite() async throws {
        let h = try Harness()
        defer { h.cleanUp() }
        let dan = FakeDirectory.person("dan", groups: [Harness.editors])
        h.directory.people = [dan]
        // The crashed run: its intent was journaled and sent, MixerAI created the account, then the process died
        // before the answer was recorded.
        let plan = Planner.plan(PlanInput(people: [dan], accounts: [], brandNamesById: ["b-1": "Brand A"],
                                          mappings: h.config.roles), normalize: { $0 })
        let invite = try #require(plan.changes.first { $0.kind == .invite })
        let intent = try h.store.journalBegin(runId: "crashed", planHash: "sha256:x", change: invite, step: "invite", at: Date())
        try h.store.journalMark(intent, status: .sent, at: Date())
        await h.mixerai.land(Account(id: "u-dan", email: "dan@example.com", globalRole: .editor, brands: ["b-1": .editor],
                                     active: true, pending: true))
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 0, "\(outcome.report.errors)")
        #expect(outcome.report.warnings.contains { $0.contains("recovered: invite of dan@example.com") })
        #expect(await h.mixerai.writes(matching: "invite").isEmpty, "never invited twice")
        #expect(try h.store.links()["dan"] == "u-dan")
        #expect(try h.store.unfinishedIntents().isEmpty)
    }
}
