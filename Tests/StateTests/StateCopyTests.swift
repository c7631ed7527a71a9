import Foundation
import Reconcile
import State
import Testing

/// `state migrate`: a populated SQLite state copied to PostgreSQL and back without losing a row, counts and hashes
/// equal on both sides, generated ids going on after the copied ones; a target that is not empty is refused.
@Suite struct StateCopyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.25)

    func populate(_ s: StateStore) throws {
        let change = Change(kind: .deactivate, anchor: "a1", email: "a@x.com", dn: "uid=a", mixerUserId: "m1",
                            from: AccountState(active: true, role: .editor, brands: ["Brand A": .editor]), to: .offboarded,
                            reasons: ["left"])
        try s.link(anchor: "a1", userId: "m1", email: "a@x.com", at: now, grant: AccountState(role: .editor))
        try s.keepInLedger(userId: "m1", state: change.from, at: now)
        let intent = try s.journalBegin(runId: "r1", planHash: "h1", change: change, step: "deactivate", at: now)
        try s.journalMark(intent, status: .sent, userId: "m1", error: "é ünïcode ✓", at: now)
        try s.recordGates(runId: "r1", planHash: "h1", held: true, verdicts: [], changes: 1, at: now)
        _ = try s.approve(planHash: "h1", at: now)
        try s.recordSnapshot(runId: "r1", inScope: 10, people: 12, good: true, at: now)
        try s.recordDeactivation(userId: "m1", approved: true, at: now)
        try s.recordRun(RunRecord(runId: "r1", at: now, mode: "apply", outcome: "applied", planHash: "h1", changes: 1,
                                  applied: 1, escrow: 0, report: nil, durationMs: 42, error: nil))
        try s.enqueue([change], source: .feed, runId: "r1", planHash: "h1", approved: false,
                      profiles: ["m1": AccountProfile(fullName: "A", jobTitle: nil, company: nil, pending: false)],
                      seenAt: now, at: now)
        try s.saveFeedCookie([0, 1, 255], scope: "ldap://x", at: now)
        try s.recordBan(BanRecord(userId: "m1", email: "a@x.com", bannedUntil: now.addingTimeInterval(86400), runId: "r1",
                                  confirmedAt: now))
        try s.scimPut(SCIMRow(id: "g1", kind: .group, externalId: nil, name: "editors", body: #"{"displayName":"Editors"}"#,
                              version: 1, created: now, modified: now),
                      members: [.add(["u1"])], request: SCIMRequestRecord(at: now, resourceId: "g1", method: "POST", summary: "created"))
    }

    @Test func aPopulatedStateRoundTripsThroughPostgreSQL() throws {
        let sqlite = try Backend.sqlite.fresh().store
        try populate(sqlite)
        let postgres = try Backend.postgresql.fresh().store
        let there = try StateCopy.copy(from: sqlite, to: postgres)
        #expect(there.allSatisfy { $0.matches }, "\(there)")
        #expect(there.count == 15 && there.allSatisfy { $0.sourceRows >= 1 }, "every table had a row: \(there)")
        let (ledgerThere, ledgerHere) = (try postgres.ledger().states, try sqlite.ledger().states)
        let (queueThere, queueHere) = (try postgres.queued(), try sqlite.queued())
        #expect(ledgerThere == ledgerHere && queueThere == queueHere)
        #expect(try postgres.feedCookie(scope: "ldap://x") == [0, 1, 255])
        let change = try #require(try sqlite.queued().first?.change)
        let next = try postgres.journalBegin(runId: "r2", planHash: "h2", change: change, step: "put", at: now)
        #expect(next > 1, "ids go on after the copied ones")

        let back = try Backend.sqlite.fresh().store
        let figures = try StateCopy.copy(from: postgres, to: back)
        #expect(figures.allSatisfy { $0.matches }, "\(figures)")
        #expect(try StateCopy.figures(back).first { $0.table == "journal" }?.rows == 2)
        #expect(throws: StateError.self) { try StateCopy.copy(from: sqlite, to: postgres) }
    }
}
