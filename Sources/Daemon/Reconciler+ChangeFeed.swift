import Foundation
import Reconcile
import Report
import State

extension Reconciler {
    /// The change feed's fast path (docs/daemon.md): after the directory said something changed, a fresh, complete
    /// read is planned against MixerAI as the daemon last saw it, and only the changes that take access away
    /// (offboardings, pure demotions) are queued — through the same gates, with the queued and recent
    /// deactivations counted in the rolling window. Grants wait for the next full run. A failed or partial read
    /// queues nothing. Returns nil when there was nothing new to restrict (no report is written then).
    ///
    /// `burst` names the earlier passes of the same burst (docs/change-feed.md): what they queued has not been sent
    /// (the drainer holds the feed's items while a burst is open) and is judged again with what this pass found, as
    /// one plan. If that plan is held, their items are withdrawn from the queue: the held plan lists the whole burst
    /// and `approve` of its hash releases exactly it.
    public func restrict(seenAt: Date?, drainer: QueueDrainer, burst: Set<String> = []) async -> Outcome? {
        guard let view = await drainer.view() else { return nil }  // before the first full run: it covers this
        let started = clock()
        let runId = RunID.make(started)
        let store: StateStore
        do {
            store = try StateStore(directory: config.state.directory)
        } catch {
            // Never "nothing to do" when the state cannot be read: an error, and the burst stays unreleased.
            return finish(errorReport(runId, .changeFeed, started, "state: \(error)", snapshot: nil), store: nil, exit: 1)
        }
        let snapshot: DirectorySnapshot
        do {
            snapshot = try await readDirectory()
        } catch {
            // Never a deactivation from a read that failed: the next event or full run tries again.
            return finish(errorReport(runId, .changeFeed, started, "directory read failed: \(error)", snapshot: nil),
                          store: store, exit: 1)
        }
        let directoryMs = ms(since: started)
        let now = clock()
        let input: PlanInput
        let queued: [QueueItem]
        do {
            input = try planInput(snapshot: snapshot, accounts: view.accounts, brandNamesById: view.brandNamesById,
                                  store: store, now: now, readOnly: true)
            queued = try store.queued()
        } catch {
            return finish(errorReport(runId, .changeFeed, started, "state: \(error)", snapshot: nil), store: store, exit: 1)
        }
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        let ofBurst = queued.filter { $0.source == .feed && burst.contains($0.runId) }
        let burstKeys = Set(ofBurst.map(\.key))
        let others = queued.filter { !burstKeys.contains($0.key) }
        let alreadyQueued = Set(others.filter { $0.change.urgency <= .demotion }.map(\.key))
        // The whole burst: what its earlier passes queued (still unsent) and what this pass adds.
        let restricting = plan.restrictingOnly.filter { !alreadyQueued.contains(QueueItem.key($0)) }
        // What an earlier pass of the burst queued and this fresher read no longer plans (the change was undone
        // while the burst was still arriving) must not go either.
        let stale = burstKeys.subtracting(restricting.map(QueueItem.key))
        if !stale.isEmpty {
            do {
                try store.withdraw(runs: burst, keys: stale)
            } catch {
                return finish(errorReport(runId, .changeFeed, started, "state: \(error)", snapshot: nil), store: store, exit: 1)
            }
        }
        guard restricting.contains(where: { !burstKeys.contains(QueueItem.key($0)) }) else { return nil }

        let hash = PlanHash.of(restricting)
        let inScope = Self.inScope(input)
        let missingGroups = snapshot.problems.compactMap { p -> String? in
            if case .missingRoleGroup(let dn) = p { return dn } else { return nil }
        }
        let deactivations = restricting.filter { $0.kind == .deactivate && $0.from.active != false }.count
        let queuedDeactivations = others.filter { $0.change.kind == .deactivate && $0.change.from.active != false }.count
        let verdicts: [GateVerdict]
        do {
            verdicts = Gates.evaluate(GateInput(
                inScopePeople: inScope, lastGoodInScopePeople: try store.lastGoodInScope(),
                plannedDeactivations: deactivations,
                recentDeactivations: try store.deactivations(since: now.addingTimeInterval(-86400)) + queuedDeactivations,
                managedActiveAccounts: plan.managedActiveAccounts, plannedDowngrades: restricting.count - deactivations,
                missingRoleGroups: missingGroups), policy: config.policy)
        } catch {
            return finish(errorReport(runId, .changeFeed, started, "state: \(error)", snapshot: nil), store: store, exit: 1)
        }
        let holds = Gates.holds(verdicts)
        let approved = holds && ((try? store.isApproved(planHash: hash)) ?? false)
        try? store.recordGates(runId: runId, planHash: hash, held: holds && !approved, verdicts: verdicts,
                               changes: restricting.count, at: now)
        var status = "planned"
        var statusReason = "queued for MixerAI, offboarding first"
        var errors: [String] = []
        var warnings = config.warnings
        if holds && !approved {
            status = "skipped"
            statusReason = "held by a safety gate"
            // Nothing of a held burst may go: what its earlier passes queued is taken back.
            if !ofBurst.isEmpty {
                do {
                    let withdrawn = try store.withdraw(runs: burst)
                    warnings.append("\(withdrawn) change(s) queued by earlier passes of this burst were withdrawn unsent")
                } catch {
                    errors.append("cannot withdraw the burst's queued changes: \(error)")
                }
            }
        } else {
            if approved { try? store.consumeApproval(planHash: hash, runId: runId, at: now) }
            var profiles: [String: AccountProfile] = [:]
            let wanted = Set(restricting.compactMap(\.mixerUserId))
            for a in input.accounts where wanted.contains(a.id) { profiles[a.id] = AccountMapping.profile(a) }
            do {
                try store.enqueue(restricting, source: .feed, runId: runId, planHash: hash, approved: approved,
                                  profiles: profiles, seenAt: seenAt, at: now)
                await drainer.kick()
            } catch {
                status = "failed"
                statusReason = "the write queue: \(error)"
                errors.append("cannot queue the changes: \(error)")
            }
        }
        var report = RunReport(runId: runId, mode: Mode.changeFeed.rawValue,
                               outcome: errors.isEmpty ? (holds && !approved ? "held" : "changes") : "error",
                               planHash: hash, startedAt: started, finishedAt: clock(),
                               snapshot: Self.summary(snapshot, inScope: inScope),
                               mixerai: ["users": view.accounts.count, "managed_active": plan.managedActiveAccounts],
                               gates: verdicts, approvedBy: approved ? hash : nil,
                               changes: restricting.map { RunReport.Item($0, status: status, statusReason: statusReason) },
                               timings: ["directory_ms": directoryMs, "plan_ms": ms(since: now)],
                               errors: errors, warnings: warnings)
        report.timings["total_ms"] = ms(since: started)
        return finish(report, store: store, exit: errors.isEmpty ? (holds && !approved ? 3 : 0) : 1)
    }
}
