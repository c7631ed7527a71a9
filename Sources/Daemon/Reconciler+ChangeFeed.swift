import Foundation
import Reconcile
import Report
import State

extension Reconciler {
    /// The change feed's fast path (product.md §1): after the directory said something changed, a fresh, complete
    /// read is planned against MixerAI as the daemon last saw it, and only the changes that take access away
    /// (offboardings, pure demotions) are queued — through the same gates, with the queued and recent
    /// deactivations counted in the rolling window. Grants wait for the next full run. A failed or partial read
    /// queues nothing. Returns nil when there was nothing to restrict (no report is written then).
    public func restrict(seenAt: Date?, drainer: QueueDrainer) async -> Outcome? {
        guard let view = await drainer.view() else { return nil }  // before the first full run: it covers this
        let started = clock()
        let runId = RunID.make(started)
        let store: StateStore
        do { store = try StateStore(directory: config.state.directory) } catch { return nil }
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
        let alreadyQueued = Set(queued.filter { $0.change.urgency <= .demotion }.map(\.key))
        let restricting = plan.restrictingOnly.filter { !alreadyQueued.contains(QueueItem.key($0)) }
        guard !restricting.isEmpty else { return nil }

        let hash = PlanHash.of(restricting)
        let inScope = Self.inScope(input)
        let missingGroups = snapshot.problems.compactMap { p -> String? in
            if case .missingRoleGroup(let dn) = p { return dn } else { return nil }
        }
        let deactivations = restricting.filter { $0.kind == .deactivate && $0.from.active != false }.count
        let queuedDeactivations = queued.filter { $0.change.kind == .deactivate && $0.change.from.active != false }.count
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
        if holds && !approved {
            status = "skipped"
            statusReason = "held by a safety gate"
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
                               errors: errors, warnings: config.warnings)
        report.timings["total_ms"] = ms(since: started)
        return finish(report, store: store, exit: errors.isEmpty ? (holds && !approved ? 3 : 0) : 1)
    }
}
