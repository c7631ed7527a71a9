import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Reconcile
import State
import Synchronization
import Testing

/// The leader's lease on the PostgreSQL state: taken, renewed, taken over when it expires (a new epoch), given up,
/// and the fence that makes a leader that lost it write nothing.
@Suite struct LeaseTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let change = Change(kind: .deactivate, anchor: "a1", email: "a@x.com", dn: "uid=a", mixerUserId: "m1",
                        from: AccountState(active: true, role: .editor), to: .offboarded, reasons: ["r"])

    @Test func oneHolderAtATimeAndANewEpochAtEachTakeover() throws {
        let (a, reopen) = try Backend.postgresql.fresh()
        let b = try reopen()
        let first = try a.acquireLease(holder: "A", host: "host-a", duration: 0.6)
        #expect(first.holder == "A" && first.epoch == 1 && first.remaining > 0.3)
        let refused = try b.acquireLease(holder: "B", host: "host-b", duration: 0.6)
        #expect(refused.holder == "A" && refused.epoch == 1, "B sees A's lease and does not take it")
        #expect(try a.acquireLease(holder: "A", host: "host-a", duration: 0.6).epoch == 1, "a renewal keeps the epoch")
        usleep(800_000)
        let takeover = try b.acquireLease(holder: "B", host: "host-b", duration: 10)
        #expect(takeover.holder == "B" && takeover.epoch == 2, "an expired lease is taken over in a new epoch")
        #expect(try a.acquireLease(holder: "A", host: "host-a", duration: 10).holder == "B", "A comes back as a standby")
        try b.releaseLease(holder: "B")
        let back = try a.acquireLease(holder: "A", host: "host-a", duration: 10)
        #expect(back.holder == "A" && back.epoch == 3, "a released lease is free at once")
        #expect(try b.currentLease()?.holder == "A")
    }

    @Test func aLeaderThatLostItsLeaseWritesNothing() throws {
        let (a, reopen) = try Backend.postgresql.fresh()
        let b = try reopen()
        let lease = try a.acquireLease(holder: "A", host: "host-a", duration: 0.5)
        a.fence(holder: "A", epoch: lease.epoch)
        let kept = try a.journalBegin(runId: "r1", planHash: "h", change: change, step: "deactivate", at: now)
        #expect(try b.unfinishedIntents().map(\.id) == [kept], "written while the lease holds")
        // A is paused past its lease; B takes over.
        usleep(700_000)
        let next = try b.acquireLease(holder: "B", host: "host-b", duration: 10)
        #expect(next.holder == "B" && next.epoch == lease.epoch + 1)
        b.fence(holder: "B", epoch: next.epoch)
        #expect(throws: FencedError.self) {
            try a.journalBegin(runId: "r1", planHash: "h", change: change, step: "deactivate", at: now)
        }
        #expect(throws: FencedError.self) { try a.journalMark(kept, status: .confirmed, at: now) }
        #expect(try b.unfinishedIntents().map(\.status) == [.planned], "the old leader's writes never landed")
        try b.journalMark(kept, status: .confirmed, at: now)
        #expect(try a.unfinishedIntents().isEmpty, "reads still work on a standby")
    }

    /// A new term sets the fence at once, even while a long write of the old term is still under way on the same
    /// connection (the fence once shared the transaction's lock: the lease loop, the send gate and the term's
    /// deadline all waited for the write, and a woken standby took ten seconds to lead).
    @Test func settingTheFenceNeverWaitsForATransaction() throws {
        let (a, _) = try Backend.postgresql.fresh()
        let lease = try a.acquireLease(holder: "A", host: "host-a", duration: 30)
        a.fence(holder: "A", epoch: lease.epoch)
        let many = (0..<3000).map { i in
            Change(kind: .deactivate, anchor: "a\(i)", email: "a\(i)@x.com", dn: "uid=a\(i)", mixerUserId: "m\(i)",
                   from: AccountState(active: true, role: .editor), to: .offboarded, reasons: ["r"])
        }
        let order = Mutex<[String]>([])
        let started = DispatchSemaphore(value: 0)
        let writer = Thread {
            started.signal()
            try? a.enqueue(many, source: .full, runId: "r1", planHash: "h", approved: false, at: Date())
            order.withLock { $0.append("write") }
        }
        writer.start()
        started.wait()
        usleep(300_000)  // the write is under way (3,000 statements in one transaction)
        a.fence(holder: "A", epoch: lease.epoch)
        order.withLock { $0.append("fence") }
        while order.withLock({ $0.count }) < 2 { usleep(10_000) }
        #expect(order.withLock { $0 } == ["fence", "write"])
        #expect(try a.queued().count == 3000)
    }

    @Test func anExpiredLeaseFencesEvenWithoutATakeover() throws {
        let (a, _) = try Backend.postgresql.fresh()
        let lease = try a.acquireLease(holder: "A", host: "host-a", duration: 0.3)
        a.fence(holder: "A", epoch: lease.epoch)
        usleep(500_000)
        #expect(throws: FencedError.self) { try a.recordDeactivation(userId: "m1", approved: false, at: now) }
        let renewed = try a.acquireLease(holder: "A", host: "host-a", duration: 10)
        #expect(renewed.epoch == lease.epoch + 1, "a lease that lapsed is a new term, even for the same holder")
        a.fence(holder: "A", epoch: renewed.epoch)
        try a.recordDeactivation(userId: "m1", approved: false, at: now)
        #expect(try a.deactivations(since: now.addingTimeInterval(-1)) == 1)
    }

    @Test func theSQLiteStateHasNoLease() throws {
        let s = try Backend.sqlite.fresh().store
        #expect(throws: StateError.self) { try s.acquireLease(holder: "A", host: "h", duration: 1) }
        #expect(try s.currentLease() == nil)
    }

    /// A leader paused inside a transaction (SIGSTOP, a VM freeze) holds the lease row's share lock: PostgreSQL
    /// ends its idle session, and the standby takes the lease over instead of waiting behind it.
    @Test func aLeaderPausedInsideATransactionDoesNotBlockTheTakeover() throws {
        var settings = try Backend.freshDatabase()
        settings.idleInTransactionTimeout = 0.5
        settings.lockTimeout = 0.3
        let a = try StateStore(postgres: settings)
        let lease = try a.acquireLease(holder: "A", host: "host-a", duration: 0.5)
        // What a paused leader leaves behind: a transaction that locked the lease row, then nothing.
        let logger = Logger(label: "lease-tests", factory: { _ in SwiftLogNoOpLogHandler() })
        let paused = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: .init(host: settings.host, port: settings.port, username: settings.user,
                                 password: settings.password, database: settings.database, tls: .disable),
            id: 2, logger: logger).wait()
        defer { _ = try? paused.close().wait() }
        _ = try paused.query("SET idle_in_transaction_session_timeout = 500", logger: logger).wait()
        _ = try paused.query("BEGIN", logger: logger).wait()
        _ = try paused.query("SELECT epoch FROM lease WHERE name = 'leader' FOR SHARE", logger: logger).wait()
        let b = try StateStore(postgres: settings)
        let start = Date()
        var taken: Lease?
        while Date().timeIntervalSince(start) < 5 {
            if let seen = try? b.acquireLease(holder: "B", host: "host-b", duration: 10), seen.holder == "B" { taken = seen; break }
            usleep(100_000)
        }
        #expect(taken?.epoch == lease.epoch + 1, "taken over in \(Date().timeIntervalSince(start)) s")
        #expect(Date().timeIntervalSince(start) < 3)
    }
}
