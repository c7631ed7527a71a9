import Foundation
import MixerAI
import Reconcile
import Report
import State

extension Reconciler {
    /// The change feed's fast path (docs/daemon.md): after the directory said something changed, a fresh, complete
    /// read is planned against MixerAI as the daemon last saw it, and only the changes that take access away
    /// (offboardings, pure demotions) are queued — through the same steps and gates as a full run, with the queued
    /// and recent deactivations counted in the rolling window. Grants wait for the next full run. A failed or
    /// partial read queues nothing (an error: the pass is tried again). Returns nil when there was nothing new to
    /// restrict (no report is written then).
    ///
    /// `burst` names the earlier passes of the same burst (docs/change-feed.md): what they queued has not been sent
    /// (the drainer holds the feed's items while a burst is open) and is judged again with what this pass found, as
    /// one plan. If that plan is held, their items are withdrawn from the queue: the held plan lists the whole burst
    /// and `approve` of its hash releases exactly it.
    public func restrict(seenAt: Date?, drainer: QueueDrainer, burst: Set<String> = []) async -> Outcome? {
        guard await drainer.view() != nil else { return nil }  // before the first full run: it covers this
        var ctx = RunContext(mode: .changeFeed, started: clock(), warnings: config.warnings)
        var store: StateStore?
        do {
            // Never "nothing to do" when the state cannot be read: an error, and the burst stays unreleased.
            store = try open(&ctx).store
            let snapshot: DirectorySnapshot
            do { snapshot = try await readDirectory() } catch {
                // Never a deactivation from a read that failed or stopped part way: the next pass tries again.
                throw RunStop(error: "directory read failed: \(error)")
            }
            ctx.timings["directory_ms"] = ms(since: ctx.started)
            // The queue before the view: the drainer updates its view, then dequeues. Read in this order, a change
            // being confirmed is seen either still queued or already in the view, never neither (it would be
            // planned a second time); read the other way round, it could fall between the two.
            let queued: [QueueItem]
            do { queued = try await store!.perform { try $0.queued() } } catch { throw RunStop(error: "state: \(error)") }
            guard let view = await drainer.view() else { return nil }
            let sides = Sides(snapshot: snapshot, admin: nil, accounts: view.accounts,
                              brands: view.brandNamesById.map { MixerBrand(id: $0.key, name: $0.value) })
            guard let p = try await scope(sides, queued: queued, store: store!, burst: burst, ctx: &ctx) else { return nil }
            let sink = FeedQueue(drainer: drainer, store: store!, burst: burst, clock: clock)
            let decision = RunDecision.decide(.init(dryRun: false, changes: p.changes.count, verdicts: p.verdicts,
                                                    approved: p.approved, planHash: p.hash))
            if decision == .hold { return await hold(ctx, p, store: store!, sink: sink, seenAt: seenAt) }
            let results = try await send(ctx, p, store: store!, sink: sink, seenAt: seenAt)
            let items = results.map { RunReport.Item($0.change, status: $0.status, statusReason: $0.reason, signIn: $0.signIn) }
            let errors = results.first { $0.status == .failed }.map { ["cannot queue the changes: \($0.reason ?? "")"] } ?? []
            return await finish(report(ctx, p, errors.isEmpty ? .changes : .error, items: items, errors: errors),
                          store: store, exit: errors.isEmpty ? 0 : 1)
        } catch let stop as RunStop {
            return await finish(stop.report(ctx, finishedAt: clock()), store: store, exit: stop.exit)
        } catch {
            return await finish(RunStop(error: "\(error)").report(ctx, finishedAt: clock()), store: store, exit: 1)
        }
    }

    /// The fast path's part of a fresh plan, judged: the restricting changes not already queued outside this burst,
    /// with what the burst's earlier passes queued (`queued`, read before the view) judged again. Nil when nothing
    /// new is to be taken away.
    func scope(_ sides: Sides, queued: [QueueItem], store: StateStore, burst: Set<String>,
               ctx: inout RunContext) async throws -> PlannedRun? {
        let now = clock()
        let input: PlanInput
        do {
            input = try await planInput(snapshot: sides.snapshot, accounts: sides.accounts, brandNamesById: sides.brandNamesById,
                                        store: store, now: now, readOnly: true)
        } catch {
            throw RunStop(error: "state: \(error)")
        }
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        let burstKeys = Set(queued.filter { $0.source == .feed && burst.contains($0.runId) }.map(\.key))
        let others = queued.filter { !burstKeys.contains($0.key) }
        let alreadyQueued = Set(others.filter { $0.change.urgency <= .demotion }.map(\.key))
        // The whole burst: what its earlier passes queued (still unsent) and what this pass adds.
        let restricting = plan.restrictingOnly.filter { !alreadyQueued.contains(QueueItem.key($0)) }
        // What an earlier pass of the burst queued and this fresher read no longer plans (the change was undone
        // while the burst was still arriving) must not go either.
        let stale = burstKeys.subtracting(restricting.map(QueueItem.key))
        if !stale.isEmpty {
            do { _ = try await store.perform { try $0.withdraw(runs: burst, keys: stale) } } catch {
                throw RunStop(error: "state: \(error)")
            }
        }
        guard restricting.contains(where: { !burstKeys.contains(QueueItem.key($0)) }) else { return nil }
        let queuedDeactivations = others.filter { $0.change.kind == .deactivate && $0.change.from.active != false }.count
        let planned = try await judge(restricting, of: plan, sides: sides, input: input, store: store, ctx: ctx, now: now,
                                alsoQueued: queuedDeactivations)
        ctx.timings["plan_ms"] = ms(since: now)
        return planned
    }
}
