import Foundation
import MixerAI
import Reconcile
import Report
import State

/// Where a run's changes go (docs/layout.md, "Seams"): applied now (`apply`), queued for the daemon's drainer
/// and waited for (full runs), or queued for the drainer without waiting (the change feed's fast path).
protocol PlanSink: Sendable {
    /// Sends or queues the changes; what became of each.
    func send(_ changes: [Change], _ batch: SinkBatch) async -> [Applier.Result]
    /// The plan is held: what this sink still holds of earlier plans that the hold covers is taken back unsent.
    /// Returns notes for the report.
    func hold(_ batch: SinkBatch) async throws -> [String]
}

/// One run's changes as a sink needs them.
struct SinkBatch: Sendable {
    let runId: String
    let planHash: String
    /// Released by an approval (its deactivations do not count in the rolling window).
    let approved: Bool
    /// The profile and pending flag of the accounts the changes touch (the stripping PUT keeps the profile).
    let profiles: [String: AccountProfile]
    let sides: Sides
    /// When the run started reading: queued items older than that were planned from an older read.
    let readStart: Date
    /// When the change feed first heard of what this pass handles.
    var seenAt: Date?
    /// `[supabase]`: offboardings ban sign-in first (nil: bans are off).
    var ban: SignInBan?
}

/// `apply` from the command line: the changes go now, journaled one by one, within the write budget.
struct ApplyNow: PlanSink {
    let store: StateStore
    let maxBudgetWait: TimeInterval
    let clock: @Sendable () -> Date
    let log: @Sendable (String) -> Void
    let shouldStop: @Sendable () -> Bool

    func send(_ changes: [Change], _ batch: SinkBatch) async -> [Applier.Result] {
        guard let admin = batch.sides.admin else {
            return changes.map { Applier.Result(change: $0, status: .failed, reason: "no MixerAI connection") }
        }
        var applier = Applier(client: admin, store: store, runId: batch.runId, planHash: batch.planHash,
                              approved: batch.approved, brandIdByName: batch.sides.brandIdByName, profiles: batch.profiles,
                              maxBudgetWait: maxBudgetWait, clock: clock)
        applier.log = log
        applier.shouldStop = shouldStop
        applier.ban = batch.ban
        return await applier.apply(changes)
    }

    func hold(_ batch: SinkBatch) async throws -> [String] { [] }
}

/// The daemon's full run: the plan's changes replace what earlier plans left in the durable queue, the drainer
/// sends them most urgent first, and the run reports what it saw happen while the budget allowed.
struct QueueAndWait: PlanSink {
    let drainer: QueueDrainer
    let store: StateStore
    let maxBudgetWait: TimeInterval
    let clock: @Sendable () -> Date
    let shouldStop: @Sendable () -> Bool

    func send(_ changes: [Change], _ batch: SinkBatch) async -> [Applier.Result] {
        let keys = changes.map(QueueItem.key)
        await drainer.watch(keys)
        do {
            let now = clock()
            try await store.perform {
                try $0.enqueue(changes, source: .full, runId: batch.runId, planHash: batch.planHash, approved: batch.approved,
                               profiles: batch.profiles, viewAt: batch.readStart, at: now,
                               replacingItemsBefore: batch.readStart)
            }
        } catch {
            await drainer.unwatch(keys)
            return changes.map { Applier.Result(change: $0, status: .failed, reason: "the write queue: \(error)") }
        }
        if let admin = batch.sides.admin {
            await drainer.attach(client: admin, brands: batch.sides.brands, accounts: batch.sides.accounts, ban: batch.ban)
        }
        var done: [String: Applier.Result] = [:]
        while done.count < keys.count {
            let p = await drainer.progress(keys, deadline: clock().addingTimeInterval(maxBudgetWait))
            done = p.done
            if done.count == keys.count || p.stalled || shouldStop() { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        await drainer.unwatch(keys)
        let reason = shouldStop() ? "queued: mixer-sync was stopping; sent after the restart"
            : "queued: MixerAI's write budget; the daemon sends it when the window allows"
        return changes.map { done[QueueItem.key($0)] ?? Applier.Result(change: $0, status: .escrow, reason: reason) }
    }

    /// A held full plan: what earlier full runs queued and the drainer has not sent yet goes too.
    func hold(_ batch: SinkBatch) async throws -> [String] {
        try await store.perform { try $0.dropQueued(source: .full) }
        return []
    }
}

/// The change feed's fast path: the restricting changes are queued for the drainer, which sends them once the
/// burst they belong to has been judged whole (docs/change-feed.md); a held pass withdraws the burst's items.
struct FeedQueue: PlanSink {
    let drainer: QueueDrainer
    let store: StateStore
    /// The run ids of the earlier passes of the same burst.
    let burst: Set<String>
    let clock: @Sendable () -> Date

    func send(_ changes: [Change], _ batch: SinkBatch) async -> [Applier.Result] {
        do {
            let now = clock()
            try await store.perform {
                try $0.enqueue(changes, source: .feed, runId: batch.runId, planHash: batch.planHash, approved: batch.approved,
                               profiles: batch.profiles, seenAt: batch.seenAt, viewAt: batch.readStart, at: now)
            }
            await drainer.kick()
            return changes.map { Applier.Result(change: $0, status: .planned, reason: "queued for MixerAI, offboarding first") }
        } catch {
            return changes.map { Applier.Result(change: $0, status: .failed, reason: "the write queue: \(error)") }
        }
    }

    /// Nothing of a held burst may go: what its earlier passes queued is taken back.
    func hold(_ batch: SinkBatch) async throws -> [String] {
        guard !burst.isEmpty else { return [] }
        let burst = self.burst
        let withdrawn = try await store.perform { try $0.withdraw(runs: burst) }
        return withdrawn == 0 ? [] : ["\(withdrawn) change(s) queued by earlier passes of this burst were withdrawn unsent"]
    }
}

extension Sides {
    var brandIdByName: [String: String] { Dictionary(brands.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a }) }
}
