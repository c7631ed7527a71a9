import Foundation
import Reconcile
import State
import Testing

/// The state's behaviour, on SQLite and on PostgreSQL alike (the SQL is written once); file and lock tests are
/// SQLite's own.
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

    /// A dry run (or the daemon's full run, whose list predates an invite its writer just sent) must never lose
    /// the grant of an account it did not see: only accounts that accepted their invite drop theirs, and only
    /// a writing run deletes it.
    @Test(arguments: Backend.allCases) func grantsAreDroppedOnlyForAcceptedAccountsAndOnlyByAWritingRun(backend: Backend) throws {
        let s = try backend.fresh().store
        let grant = AccountState(role: .editor, brands: ["Brand A": .editor])
        try s.link(anchor: "a1", userId: "m1", email: "a@x.com", at: now, grant: grant)
        try s.link(anchor: "a2", userId: "m2", email: "b@x.com", at: now, grant: grant)
        #expect(try s.links() == ["a1": "m1", "a2": "m2"])
        #expect(try s.pendingGrants().keys.sorted() == ["m1", "m2"], "linked and granted in one transaction")
        // m1 accepted its invite; m2 is newer than the list read (absent from it).
        #expect(try s.pendingGrants(droppingAccepted: ["m1"], write: false).keys.sorted() == ["m2"])
        #expect(try s.pendingGrants().keys.sorted() == ["m1", "m2"], "a read-only run writes nothing")
        #expect(try s.pendingGrants(droppingAccepted: ["m1"], write: true).keys.sorted() == ["m2"])
        #expect(try s.pendingGrants().keys.sorted() == ["m2"], "the accepted one is gone, the unseen one kept")
    }

    @Test(arguments: Backend.allCases) func historyIsPrunedButUnfinishedIntentsAreKept(backend: Backend) throws {
        let s = try backend.fresh().store
        let old = now.addingTimeInterval(-200 * 86400)
        let settled = try s.journalBegin(runId: "r0", planHash: "sha256:a", change: change, step: "invite", at: old)
        try s.journalMark(settled, status: .confirmed, at: old)
        let stuck = try s.journalBegin(runId: "r0", planHash: "sha256:a", change: change, step: "invite", at: old)
        try s.journalMark(stuck, status: .sent, at: old)
        let recent = try s.journalBegin(runId: "r1", planHash: "sha256:b", change: change, step: "invite", at: now)
        try s.journalMark(recent, status: .confirmed, at: now)
        try s.recordRun(RunRecord(runId: "r0", at: old, mode: "apply", outcome: "applied", planHash: nil, changes: 1,
                                  applied: 1, escrow: 0, report: nil, durationMs: 1, error: nil))
        #expect(try s.pruneHistory(before: now.addingTimeInterval(-180 * 86400)) == 2)
        #expect(try s.unfinishedIntents().map(\.id) == [stuck], "an unfinished intent survives any age")
        #expect(try s.intents(runId: "r1").map(\.id) == [recent])
        #expect(try s.recentRuns().isEmpty)
    }

    @Test(arguments: Backend.allCases) func anApprovalReleasesOnlyAHeldHashAndOnlyOnce(backend: Backend) throws {
        let s = try backend.fresh().store
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

    @Test(arguments: Backend.allCases) func theJournalKeepsUnfinishedIntentsUntilResolved(backend: Backend) throws {
        let s = try backend.fresh().store
        let id = try s.journalBegin(runId: "r1", planHash: "sha256:p", change: change, step: "invite", at: now)
        #expect(try s.unfinishedIntents().map(\.id) == [id])
        try s.journalMark(id, status: .sent, userId: "m9", at: now)
        let sent = try #require(try s.unfinishedIntents().first)
        #expect(sent.status == .sent && sent.userId == "m9" && sent.change == change)
        try s.journalMark(id, status: .confirmed, at: now)
        #expect(try s.unfinishedIntents().isEmpty)
        #expect(try s.intents(runId: "r1").map(\.status) == [.confirmed])
    }

    @Test(arguments: Backend.allCases) func theLedgerKeepsTheFirstRolesAndTheWindowSkipsApprovedDeactivations(backend: Backend) throws {
        let s = try backend.fresh().store
        try s.keepInLedger(userId: "m1", state: AccountState(role: .editor, brands: ["A": .editor]), at: now)
        try s.keepInLedger(userId: "m1", state: AccountState(role: .viewer, brands: [:]), at: now.addingTimeInterval(60))
        #expect(try s.ledger().states["m1"] == AccountState(role: .editor, brands: ["A": .editor]))
        #expect(try s.ledger().offboardedAt["m1"] == now)
        try s.recordDeactivation(userId: "m1", approved: false, at: now)
        try s.recordDeactivation(userId: "m2", approved: true, at: now)
        try s.recordDeactivation(userId: "m3", approved: false, at: now.addingTimeInterval(-90000))
        #expect(try s.deactivations(since: now.addingTimeInterval(-86400)) == 1)
    }

    @Test(arguments: Backend.allCases) func theLastGoodSnapshotIsTheLastAppliedOne(backend: Backend) throws {
        let s = try backend.fresh().store
        #expect(try s.lastGoodInScope() == nil)
        try s.recordSnapshot(runId: "r1", inScope: 100, people: 120, good: true, at: now)
        try s.recordSnapshot(runId: "r2", inScope: 50, people: 60, good: false, at: now.addingTimeInterval(10))
        #expect(try s.lastGoodInScope() == 100)
    }

    /// Two hosts sharing a SQLite file over NFS would corrupt it: such a directory is refused, with the way out.
    @Test func aStateDirectoryOnANetworkFilesystemIsRefused() {
        let mounts = """
            /dev/vda / ext4 rw,relatime 0 0
            filer:/export/state /var/lib/mixer-sync nfs4 rw,vers=4.2 0 0
            //nas/share /mnt/share cifs rw 0 0
            tmpfs /var/lib/mixer-sync/local tmpfs rw 0 0
            """
        #expect(StateStore.networkFilesystem(path: "/var/lib/mixer-sync", mounts: mounts) == "NFS")
        #expect(StateStore.networkFilesystem(path: "/var/lib/mixer-sync/a/b", mounts: mounts) == "NFS")
        #expect(StateStore.networkFilesystem(path: "/mnt/share/state", mounts: mounts) == "SMB/CIFS")
        #expect(StateStore.networkFilesystem(path: "/var/lib/mixer-sync/local", mounts: mounts) == nil, "a local mount inside")
        #expect(StateStore.networkFilesystem(path: "/var/lib/mixer-syncx", mounts: mounts) == nil, "a sibling, not inside")
        #expect(StateStore.networkFilesystem(path: "/tmp", mounts: mounts) == nil)
    }

    @Test func oneMixerSyncPerStateDirectory() throws {
        let (_, dir) = try store()
        do {
            let lock = try StateLock(directory: dir)
            #expect(throws: StateError.self) { try StateLock(directory: dir) }
            withExtendedLifetime(lock) {}
        }
        #expect((try? StateLock(directory: dir)) != nil, "released with its holder")
    }

    /// A child being spawned holds a copy of the lock's descriptor until its exec: the lock looks held by this
    /// PID for a moment after its release. That moment is waited out; a lock that stays held is still refused.
    @Test func aLockStillHeldByASpawningChildIsWaitedOutBriefly() throws {
        let (_, dir) = try store()
        _ = try StateLock(directory: dir)  // taken and released: the file names this PID
        let copy = open(dir + "/lock", O_RDWR)  // what the child's copy looks like: another description, same file
        #expect(flock(copy, LOCK_EX | LOCK_NB) == 0)
        let release = Thread { usleep(150_000); close(copy) }
        release.start()
        // A window far longer than the copy lives (the default is 3 s): a loaded CI machine once left the closing
        // thread unscheduled for longer than that.
        #expect((try? StateLock(directory: dir, spawnWindow: 60)) != nil, "taken once the copy is closed")
        let stuck = open(dir + "/lock", O_RDWR)
        defer { close(stuck) }
        #expect(flock(stuck, LOCK_EX | LOCK_NB) == 0)
        #expect(throws: StateError.self) { try StateLock(directory: dir, spawnWindow: 0.2) }
    }

    func queued(_ kind: Change.Kind, _ id: String?, anchor: String) -> Change {
        Change(kind: kind, anchor: anchor, email: "\(anchor)@x.com", dn: nil, mixerUserId: id,
               from: AccountState(active: true, role: .editor), to: kind == .deactivate ? .offboarded : AccountState(role: .editor),
               reasons: ["r"])
    }

    @Test(arguments: Backend.allCases) func theQueueGivesOffboardingsFirstAndSurvivesReopening(backend: Backend) throws {
        let (s, reopen) = try backend.fresh()
        try s.enqueue([queued(.invite, nil, anchor: "i1"), queued(.invite, nil, anchor: "i2")], source: .full, runId: "r1",
                      planHash: "h1", approved: false, at: now)
        try s.enqueue([queued(.deactivate, "m9", anchor: "d9")], source: .feed, runId: "r2", planHash: "h2", approved: false,
                      profiles: ["m9": AccountProfile(fullName: "D", jobTitle: nil, company: nil, pending: false)],
                      seenAt: now, at: now.addingTimeInterval(5))
        let reopened = try reopen()
        let first = try #require(try reopened.nextQueued(now: now.addingTimeInterval(6)).item)
        #expect(first.key == "id:m9")
        #expect(first.source == .feed && first.seenAt == now && first.profile?.fullName == "D")
        #expect(try reopened.pendingOffboards().map(\.key) == ["id:m9"])
        #expect(try reopened.queued().map(\.key) == ["id:m9", "anchor:i1", "anchor:i2"])
        try reopened.dequeue(first.id)
        #expect(try reopened.nextQueued(now: now, maxUrgency: .offboarding).item == nil, "while a full run plans: offboardings only")
        #expect(try reopened.nextQueued(now: now).item?.key == "anchor:i1")
    }

    @Test(arguments: Backend.allCases) func aDeferredItemWaitsAndAFullPlanReplacesOnlyWhatWasQueuedBeforeItsReads(backend: Backend) throws {
        let s = try backend.fresh().store
        try s.enqueue([queued(.invite, nil, anchor: "i1"), queued(.invite, nil, anchor: "i2")], source: .full, runId: "r1",
                      planHash: "h1", approved: false, at: now)
        let i1 = try #require(try s.nextQueued(now: now).item)
        try s.defer_(i1.id, until: now.addingTimeInterval(60), error: "503", countAttempt: true)
        let next = try s.nextQueued(now: now.addingTimeInterval(1))
        #expect(next.item?.key == "anchor:i2")
        #expect(next.nextDue == now.addingTimeInterval(60))
        // The feed queues a leaver while the next full run reads; that run's plan names i2 only.
        try s.enqueue([queued(.deactivate, "m5", anchor: "d5")], source: .feed, runId: "f", planHash: "hf", approved: false,
                      seenAt: now.addingTimeInterval(20), at: now.addingTimeInterval(20))
        try s.enqueue([queued(.invite, nil, anchor: "i2")], source: .full, runId: "r2", planHash: "h3", approved: false,
                      at: now.addingTimeInterval(30), replacingItemsBefore: now.addingTimeInterval(10))
        #expect(try s.queued().map(\.key) == ["id:m5", "anchor:i2"], "i1 dropped: the fresher plan no longer wants it")
        #expect(try s.queued().last?.runId == "r2")
        try s.dequeue(try #require(try s.queued().first).id)
        #expect(try s.pendingOffboards().isEmpty)
    }

    @Test(arguments: Backend.allCases) func theFeedCookieIsKeptPerScope(backend: Backend) throws {
        let s = try backend.fresh().store
        #expect(try s.feedCookie(scope: "a") == nil)
        try s.saveFeedCookie([1, 2, 3], scope: "a", at: now)
        #expect(try s.feedCookie(scope: "a") == [1, 2, 3])
        #expect(try s.feedCookie(scope: "b") == nil)
        try s.saveFeedCookie(nil, scope: "a", at: now)
        #expect(try s.feedCookie(scope: "a") == nil)
    }

    @Test(arguments: Backend.allCases) func bansWithdrawalsCountsAndRunsReadBackAsWritten(backend: Backend) throws {
        let s = try backend.fresh().store
        try s.recordBan(BanRecord(userId: "m1", email: "a@x.com", bannedUntil: now.addingTimeInterval(3600), runId: "r1",
                                  confirmedAt: now))
        try s.recordBan(BanRecord(userId: "m1", email: "a@x.com", bannedUntil: now.addingTimeInterval(7200), runId: "r2",
                                  confirmedAt: now))
        #expect(try s.ban(userId: "m1", now: now)?.runId == "r2", "the later ban replaces the earlier one")
        #expect(try s.ban(userId: "m1", now: now.addingTimeInterval(7201)) == nil, "expired")
        try s.clearBan(userId: "m1")
        #expect(try s.bans(now: now).isEmpty)

        try s.enqueue([queued(.deactivate, "m2", anchor: "d2"), queued(.invite, nil, anchor: "i3")], source: .feed,
                      runId: "f1", planHash: "h", approved: false, at: now)
        #expect(try s.queueDepth() == (all: 2, offboardings: 1))
        #expect(try s.withdraw(runs: ["f1"], keys: ["id:m2"]) == 1)
        #expect(try s.withdraw(runs: ["f0"]) == 0)
        #expect(try s.queued().map(\.key) == ["anchor:i3"])

        let a = try s.journalBegin(runId: "r1", planHash: "h", change: change, step: "invite", at: now)
        let b = try s.journalBegin(runId: "r1", planHash: "h", change: change, step: "invite", at: now)
        #expect(b > a)
        try s.journalMark(a, status: .confirmed, at: now)
        try s.journalMark(b, status: .confirmed, at: now)
        #expect(try s.confirmedChanges(runIds: ["r1", "r9"]) == ["r1": 2])

        var run = RunRecord(runId: "r1", at: now, mode: "apply", outcome: "applied", planHash: "h", changes: 2, applied: 1,
                            escrow: 1, report: "/x.json", durationMs: 12, error: nil)
        try s.recordRun(run)
        run.applied = 2
        try s.recordRun(run)
        #expect(try s.recentRuns() == [run])

        try s.recordGates(runId: "r1", planHash: "h9", held: true, verdicts: [], changes: 3, at: now)
        try s.recordGates(runId: "r2", planHash: "h9", held: true, verdicts: [], changes: 4, at: now.addingTimeInterval(5))
        let held = try s.heldPlans()
        #expect(held.map(\.hash) == ["h9"] && held.first?.changes == 4 && held.first?.at == now.addingTimeInterval(5),
                "the latest hold of a hash")
        try s.link(anchor: "a1", userId: "m1", email: nil, at: now)
        try s.link(anchor: "a1", userId: "m7", email: "n@x.com", at: now)
        #expect(try s.links() == ["a1": "m7"] && s.linkedUser(anchor: "a1") == "m7")
    }

    @Test func postgresURLsAreCheckedAndTLSIsRequiredOffLoopback() throws {
        let local = try PostgresSettings(url: "postgresql://sync@127.0.0.1:5433/state", password: "p")
        #expect(local.host == "127.0.0.1" && local.port == 5433 && local.user == "sync" && local.database == "state" && !local.tls)
        let remote = try PostgresSettings(url: "postgresql://sync@db.example.com/state", password: "p")
        #expect(remote.tls && remote.port == 5432)
        #expect(remote.location == "postgresql://sync@db.example.com:5432/state", "no password in messages")
        for bad in ["postgresql://sync:secret@db/state", "postgresql://sync@db.example.com/state?sslmode=disable",
                    "mysql://sync@db/state", "postgresql://db/state", "postgresql://sync@db/", "postgresql://sync@db/s?x=1"] {
            #expect(throws: StateError.self, "\(bad)") { try PostgresSettings(url: bad, password: "p") }
        }
    }
}
