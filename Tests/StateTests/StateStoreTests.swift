import Foundation
import Reconcile
import State
import Testing

@Suite struct StateStoreTests {
    func store() throws -> (StateStore, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        return (try StateStore(directory: dir), dir)
    }

    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let change = Change(kind: .invite, anchor: "a1", email: "a@x.com", dn: "uid=a", mixerUserId: nil, from: AccountState(),
                        to: AccountState(active: true, role: .editor, brands: ["Brand A": .editor]), reasons: ["r"])

    @Test func theDatabaseIsPrivateAndSurvivesReopening() throws {
        let (s, dir) = try store()
        try s.link(anchor: "a1", userId: "m1", email: "a@x.com", at: now)
        var info = stat()
        stat(dir + "/state.sqlite", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try StateStore(directory: dir).links() == ["a1": "m1"])
    }

    @Test func anApprovalReleasesOnlyAHeldHashAndOnlyOnce() throws {
        let (s, _) = try store()
        #expect(try s.approve(planHash: "sha256:x", at: now) == .unknown)
        try s.recordGates(runId: "r1", planHash: "sha256:x", held: true, verdicts: [], changes: 3, at: now)
        #expect(try s.heldPlans().map(\.hash) == ["sha256:x"])
        #expect(try s.approve(planHash: "sha256:x", at: now) == .approved)
        #expect(try s.isApproved(planHash: "sha256:x"))
        #expect(try s.approve(planHash: "sha256:x", at: now) == .alreadyApproved)
        try s.consumeApproval(planHash: "sha256:x", runId: "r2", at: now)
        #expect(try !s.isApproved(planHash: "sha256:x"), "used up")
        #expect(try s.heldPlans().isEmpty)
    }

    @Test func theJournalKeepsUnfinishedIntentsUntilResolved() throws {
        let (s, _) = try store()
        let id = try s.journalBegin(runId: "r1", planHash: "sha256:p", change: change, step: "invite", at: now)
        #expect(try s.unfinishedIntents().map(\.id) == [id])
        try s.journalMark(id, status: .sent, userId: "m9", at: now)
        let sent = try #require(try s.unfinishedIntents().first)
        #expect(sent.status == .sent && sent.userId == "m9" && sent.change == change)
        try s.journalMark(id, status: .confirmed, at: now)
        #expect(try s.unfinishedIntents().isEmpty)
        #expect(try s.intents(runId: "r1").map(\.status) == [.confirmed])
    }

    @Test func theLedgerKeepsTheFirstRolesAndTheWindowSkipsApprovedDeactivations() throws {
        let (s, _) = try store()
        try s.keepInLedger(userId: "m1", state: AccountState(role: .editor, brands: ["A": .editor]), at: now)
        try s.keepInLedger(userId: "m1", state: AccountState(role: .viewer, brands: [:]), at: now.addingTimeInterval(60))
        #expect(try s.ledger().states["m1"] == AccountState(role: .editor, brands: ["A": .editor]))
        #expect(try s.ledger().offboardedAt["m1"] == now)
        try s.recordDeactivation(userId: "m1", approved: false, at: now)
        try s.recordDeactivation(userId: "m2", approved: true, at: now)
        try s.recordDeactivation(userId: "m3", approved: false, at: now.addingTimeInterval(-90000))
        #expect(try s.deactivations(since: now.addingTimeInterval(-86400)) == 1)
    }

    @Test func theLastGoodSnapshotIsTheLastAppliedOne() throws {
        let (s, _) = try store()
        #expect(try s.lastGoodInScope() == nil)
        try s.recordSnapshot(runId: "r1", inScope: 100, people: 120, good: true, at: now)
        try s.recordSnapshot(runId: "r2", inScope: 50, people: 60, good: false, at: now.addingTimeInterval(10))
        #expect(try s.lastGoodInScope() == 100)
    }

    @Test func oneMixerSyncPerStateDirectory() throws {
        let (_, dir) = try store()
        let lock = try StateLock(directory: dir)
        #expect(throws: StateError.self) { try StateLock(directory: dir) }
        withExtendedLifetime(lock) {}
    }
}
