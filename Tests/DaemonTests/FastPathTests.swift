import Daemon
import Foundation
import Reconcile
import Report
import State
import Testing

/// The change feed's fast path through the same pipeline: a leaver is queued and sent by the drainer at once;
/// a mass departure is held whole and nothing is sent.
@Suite struct FastPathTests {
    /// Starts the drainer, lets a full run hand it MixerAI, runs `body`, stops the drainer.
    func withDrainer(_ h: Harness, _ body: (QueueDrainer) async throws -> Void) async throws {
        let drainer = QueueDrainer(store: h.store, logger: Harness.logger)
        let stop = StopFlag()
        let loop = Task { await drainer.run(stopping: { stop.isSet }) }
        var full = h.reconciler()
        full.drainer = drainer
        full.maxBudgetWait = 2
        let first = await full.apply()
        #expect(first.exitCode == 0, "\(first.report.errors)")
        try await body(drainer)
        stop.set()
        await drainer.kick()
        await loop.value
    }

    /// The call went out but the state could not be written after it (PostgreSQL restarting): the queued item is
    /// settled by reading MixerAI back, never sent a second time.
    @Test func anEarlierAttemptThatLandedIsReadBackNotSentAgain() async throws {
        let h = try Harness(accounts: ["gus", "hal", "ivy"].map { Harness.account($0, role: .editor) })
        defer { h.cleanUp() }
        h.directory.people = ["gus", "hal", "ivy"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await withDrainer(h) { drainer in
            await h.mixerai.exhaustBudget(resetIn: 3600)  // the drainer holds the item
            h.directory.people[1] = FakeDirectory.person("hal", groups: [Harness.editors], leaver: true)
            _ = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            let item = try #require(try h.store.queued().first)
            // An attempt whose call landed in MixerAI, journaled as sent, never confirmed.
            let intent = try h.store.journalBegin(runId: item.runId, planHash: item.planHash, change: item.change,
                                                  step: "deactivate", at: Date())
            try h.store.journalMark(intent, status: .sent, at: Date())
            var gone = Harness.account("hal", role: .viewer, active: false)
            gone.brands = [:]
            await h.mixerai.land(gone)
            await h.mixerai.resetBudget()
            await drainer.kick()
            for _ in 0..<300 where try !h.store.queued().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try h.store.queued().isEmpty, "settled and dequeued")
            #expect(await h.mixerai.writes(matching: "deactivate").isEmpty, "not sent again")
            #expect(try h.store.unfinishedIntents().isEmpty)
        }
    }

    /// A full run whose MixerAI read began before the fast path offboarded someone plans the same offboarding again
    /// (what it read still shows the account active): the drainer finds it confirmed after that read and sends
    /// nothing. The same plan from a read made after the offboarding (an admin reactivated the account since) goes.
    @Test func anOffboardingPlannedFromAnOlderReadIsNotSentTwice() async throws {
        let h = try Harness(accounts: ["gus", "hal"].map { Harness.account($0, role: .editor) })
        defer { h.cleanUp() }
        h.directory.people = ["gus", "hal"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await withDrainer(h) { drainer in
            let readBefore = Date()
            h.directory.people[1] = FakeDirectory.person("hal", groups: [Harness.editors], leaver: true)
            _ = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            for _ in 0..<300 where try !h.store.queued().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-hal"])
            let done = try #require(try h.store.confirmedIntents(since: readBefore).first { $0.change.kind == .deactivate })
            // The stale full run's item: the same offboarding, planned from the read that began before it.
            try h.store.enqueue([done.change], source: .full, runId: "stale-run", planHash: "h1", approved: false,
                                viewAt: readBefore, at: Date())
            await drainer.kick()
            for _ in 0..<300 where try !h.store.queued().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try h.store.queued().isEmpty, "settled from the journal")
            #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-hal"], "not sent a second time")
            // A read after the offboarding that still plans it (reactivated by hand meanwhile): sent again.
            try h.store.enqueue([done.change], source: .full, runId: "fresh-run", planHash: "h2", approved: false,
                                viewAt: Date(), at: Date())
            await drainer.kick()
            for _ in 0..<300 where try !h.store.queued().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-hal", "deactivate u-hal"])
        }
    }

    @Test func leaverIsOffboardedByTheFastPath() async throws {
        let h = try Harness(accounts: ["gus", "hal", "ivy"].map { Harness.account($0, role: .editor) })
        defer { h.cleanUp() }
        h.directory.people = ["gus", "hal", "ivy"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await withDrainer(h) { drainer in
            h.directory.people[1] = FakeDirectory.person("hal", groups: [Harness.editors], leaver: true)
            let outcome = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            #expect(outcome.exitCode == 0 && outcome.report.mode == .changeFeed && outcome.report.outcome == .changes)
            #expect(outcome.report.changes.map(\.kind) == ["deactivate"])
            for _ in 0..<200 where await h.mixerai.users["u-hal"]?.active != false { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-hal"], "sent by the drainer")
            // Nothing new: no pass, no report.
            #expect(await h.reconciler().restrict(seenAt: Date(), drainer: drainer) == nil)
        }
    }

    @Test func massDepartureOnTheFastPathIsHeldAndNothingIsSent() async throws {
        let names = (1...10).map { "q\($0)" }
        let h = try Harness(accounts: names.map { Harness.account($0, role: .editor) }, maxDeactivations: 3)
        defer { h.cleanUp() }
        h.directory.people = names.map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await withDrainer(h) { drainer in
            h.directory.people = names.enumerated().map { i, n in FakeDirectory.person(n, groups: [Harness.editors], leaver: i < 6) }
            let outcome = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            #expect(outcome.exitCode == 3 && outcome.report.outcome == .held && outcome.report.changes.count == 6)
            try await Task.sleep(for: .milliseconds(100))
            #expect(await h.mixerai.writes(matching: "deactivate").isEmpty)
            #expect(try h.store.queued().isEmpty, "a held pass queues nothing")
            #expect(try h.store.heldPlans().first?.hash == outcome.report.planHash)
        }
    }

    @Test func aFastPathThatCannotReadTheDirectoryIsAnError() async throws {
        let h = try Harness(accounts: [Harness.account("jo", role: .editor)])
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("jo", groups: [Harness.editors])]
        try await withDrainer(h) { drainer in
            h.directory.failure = SnapshotFailure(stage: .incomplete, message: "timeout")
            let outcome = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            #expect(outcome.exitCode == 1 && outcome.report.outcome == .error, "never 'nothing to do', never held")
        }
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
