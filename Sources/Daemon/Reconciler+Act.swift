import Foundation
import MixerAI
import Reconcile
import Report
import State

/// 5–6. What a run does with its judged plan (`RunDecision`), and the report it makes of it.
extension Reconciler {
    /// `plan` (`out`: where the plan file goes) and `apply` / full runs (`planPath`: a saved plan to hold to).
    func act(_ ctx: RunContext, _ p: PlannedRun, store: StateStore, out: String? = nil, planPath: String? = nil) async throws -> Outcome {
        var saved: String?
        if let planPath {
            do { saved = try PlanFile.load(planPath).planHash } catch {
                return await finish(report(ctx, p, .error, items: [], errors: ["\(error)"], planFile: planPath), store: store, exit: 1)
            }
        }
        var p = p
        do {
            let writesAccess = p.changes.contains { $0.kind == .deactivate || $0.kind == .reactivate }
            p.ban = try await prepareBan(store: store, probe: ctx.mode != .dryRun && !p.held && writesAccess)
        } catch {
            // Nothing is half-done: no offboarding goes without the ban that was asked for.
            let items = p.changes.map { RunReport.Item($0, status: ctx.mode == .dryRun ? .planned : .skipped,
                                                       statusReason: ctx.mode == .dryRun ? nil : "not sent: \(error)") }
            return await finish(report(ctx, p, .error, items: items, errors: ["\(error)"], planFile: planPath), store: store, exit: 1)
        }
        let decision = RunDecision.decide(.init(dryRun: ctx.mode == .dryRun, changes: p.changes.count, verdicts: p.verdicts,
                                                approved: p.approved, savedPlanHash: saved, planHash: p.hash))
        switch decision {
        case .writePlan(let held):
            return await writePlan(ctx, p, store: store, held: held, out: out)
        case .refuseStale(let saved):
            let items = p.changes.map { RunReport.Item($0, status: .skipped, statusReason: "the saved plan is out of date") }
            return await finish(report(ctx, p, .error, items: items, errors: [
                "refused: the directory or MixerAI changed since \(planPath ?? "the plan file") was made "
                    + "(its plan_hash \(saved), now \(p.hash)); run plan again",
            ], planFile: planPath), store: store, exit: 1)
        case .hold:
            return await hold(ctx, p, store: store, sink: fullRunSink(store), planFile: planPath)
        case .inSync, .send:
            let applyStart = clock()
            let results = try await send(ctx, p, store: store, sink: fullRunSink(store))
            var ctx = ctx
            ctx.timings["apply_ms"] = ms(since: applyStart)
            let items = results.map { RunReport.Item($0.change, status: $0.status, statusReason: $0.reason, signIn: $0.signIn) }
            if let ban = p.ban { ctx.warnings += await catchUpBans(p, ban: ban, runId: ctx.runId) }
            let (fixed, notes) = await fixAppAdmins(p, runId: ctx.runId, store: store)
            ctx.fixedAppAdmins = fixed
            ctx.warnings += notes
            await recordSnapshot(ctx, p, store: store, good: true)
            return await finish(report(ctx, p, p.changes.isEmpty ? .inSync : .applied, items: items, planFile: planPath),
                          store: store, exit: items.contains { $0.status != .applied } ? 4 : 0)
        }
    }

    /// The sink of `apply` (now) or of the daemon's full runs (its drainer's queue).
    func fullRunSink(_ store: StateStore) -> any PlanSink {
        if let drainer {
            return QueueAndWait(drainer: drainer, store: store, maxBudgetWait: maxBudgetWait, clock: clock, shouldStop: shouldStop)
        }
        return ApplyNow(store: store, maxBudgetWait: maxBudgetWait, clock: clock, log: log, shouldStop: shouldStop)
    }

    /// A dry run: the plan file and the report.
    func writePlan(_ ctx: RunContext, _ p: PlannedRun, store: StateStore, held: Bool, out: String?) async -> Outcome {
        let path = out ?? config.state.directory + "/plans/\(ctx.runId).json"
        let file = PlanFile(planHash: p.hash, runId: ctx.runId, createdAt: RunReport.iso(p.now), held: held, changes: p.changes)
        var errors: [String] = []
        let (plans, keep) = (config.state.directory + "/plans", config.report.keep)
        do {
            // Off the cooperative pool, like every fsync.
            try await store.perform { _ in
                if out == nil {
                    try file.write(to: path, plans + "/latest.json")
                    PlanFile.prune(directory: plans, keep: keep)
                } else {
                    try file.write(to: path)
                }
            }
        } catch { errors.append("cannot write the plan file: \(error)") }
        await recordSnapshot(ctx, p, store: store, good: false)
        let outcome: RunOutcome = !errors.isEmpty ? .error : held ? .held : p.changes.isEmpty ? .inSync : .changes
        let exit: Int32 = switch outcome { case .error: 1; case .held: 3; case .changes: 2; default: 0 }
        return await finish(report(ctx, p, outcome, items: p.changes.map { RunReport.Item($0) }, errors: errors, planFile: path),
                      store: store, exit: exit)
    }

    /// A held plan: nothing is sent, and what the sink held of earlier plans under this hold is taken back.
    func hold(_ ctx: RunContext, _ p: PlannedRun, store: StateStore, sink: any PlanSink, planFile: String? = nil,
              seenAt: Date? = nil) async -> Outcome {
        var ctx = ctx
        var errors: [String] = []
        do {
            ctx.warnings += try await sink.hold(batch(ctx, p, seenAt: seenAt))
        } catch {
            errors.append("cannot withdraw the queued changes this hold covers: \(error)")
        }
        let items = p.changes.map { RunReport.Item($0, status: .skipped, statusReason: "held by a safety gate") }
        return await finish(report(ctx, p, errors.isEmpty ? .held : .error, items: items, errors: errors, planFile: planFile),
                      store: store, exit: errors.isEmpty ? 3 : 1)
    }

    /// The plan goes to the sink: an approval it uses is consumed, first adoptions are linked (full runs).
    func send(_ ctx: RunContext, _ p: PlannedRun, store: StateStore, sink: any PlanSink, seenAt: Date? = nil) async throws -> [Applier.Result] {
        let (approved, hash, runId, now) = (p.approved, p.hash, ctx.runId, p.now)
        var adoptions: [(anchor: String, id: String, email: String?)] = []
        if ctx.mode != .changeFeed && !p.plan.adoptions.isEmpty {
            let emails = Dictionary(p.input.accounts.map { ($0.id, $0.email) }, uniquingKeysWith: { a, _ in a })
            adoptions = p.plan.adoptions.map { ($0.key, $0.value, emails[$0.value] ?? nil) }
        }
        do {
            try await store.perform { [adoptions] store in
                if approved { try store.consumeApproval(planHash: hash, runId: runId, at: now) }
                for a in adoptions { try store.link(anchor: a.anchor, userId: a.id, email: a.email, at: now) }
            }
        } catch {
            throw RunStop(error: "state: \(error)", snapshot: p.snapshotSummary)
        }
        return await sink.send(p.changes, batch(ctx, p, seenAt: seenAt))
    }

    /// The snapshot's figures for the shrink gate: a full run's read becomes the last good one once applied.
    func recordSnapshot(_ ctx: RunContext, _ p: PlannedRun, store: StateStore, good: Bool) async {
        let (runId, inScope, people, now) = (ctx.runId, p.inScope, p.sides.snapshot.people.count, p.now)
        _ = try? await store.perform { try $0.recordSnapshot(runId: runId, inScope: inScope, people: people, good: good, at: now) }
    }

    func batch(_ ctx: RunContext, _ p: PlannedRun, seenAt: Date?) -> SinkBatch {
        // Only the accounts this run touches are looked up: no index of every account.
        let wanted = Set(p.changes.compactMap(\.mixerUserId))
        var profiles: [String: AccountProfile] = [:]
        for a in p.input.accounts where wanted.contains(a.id) { profiles[a.id] = AccountMapping.profile(a) }
        return SinkBatch(runId: ctx.runId, planHash: p.hash, approved: p.approved, profiles: profiles, sides: p.sides,
                         readStart: ctx.started, seenAt: seenAt, ban: p.ban)
    }

    /// The report of a run that planned: the same fields for every mode; full runs add the audit and the queue.
    func report(_ ctx: RunContext, _ p: PlannedRun, _ outcome: RunOutcome, items: [RunReport.Item], errors: [String] = [],
                planFile: String? = nil) -> RunReport {
        let full = ctx.mode != .changeFeed
        var r = RunReport(runId: ctx.runId, mode: ctx.mode, outcome: outcome, planHash: p.hash, startedAt: ctx.started,
                          finishedAt: clock(), snapshot: p.snapshotSummary,
                          mixerai: ["users": p.sides.accounts.count, "brands": p.sides.brandNamesById.count,
                                    "active": p.input.accounts.filter(\.active).count,
                                    "managed_active": p.plan.managedActiveAccounts],
                          gates: p.verdicts, approvedBy: p.approved ? p.hash : nil, changes: items,
                          conflicts: full ? RunReport.conflicts(p.plan.conflicts) : [],
                          manualActions: full ? RunReport.manual(p.plan.manualActions.map { corrected($0, ctx) }) : [],
                          problems: full ? RunReport.problems(p.sides.snapshot.problems) : [],
                          audit: full ? Audit.compute(accounts: p.input.accounts, plan: p.plan, policy: config.policy, now: p.now) : nil,
                          queue: Self.queue(p.plan, budget: p.budget, now: p.now),
                          timings: ctx.timings, errors: errors, warnings: ctx.warnings, planFile: planFile)
        r.timings["total_ms"] = ms(since: ctx.started)
        return r
    }

    /// A manual action that `fix_app_metadata` did in this run says so.
    func corrected(_ m: ManualAction, _ ctx: RunContext) -> ManualAction {
        guard m.kind == .appMetadataAdmin, let id = m.mixerUserId, let role = ctx.fixedAppAdmins[id] else { return m }
        var m = m
        m.reason = "corrected by mixer-sync: app_metadata.global_role set to \(role.rawValue) ([supabase] fix_app_metadata = true)"
        return m
    }

    /// The queue's writes and how long they take under the budget (decision 12).
    static func queue(_ plan: Plan, budget: WriteBudget?, now: Date) -> RunReport.Queue {
        guard let budget else { return RunReport.Queue(writes: 0) }
        let writes = plan.writes
        let limit = budget.limit ?? 50
        let left = budget.remaining ?? limit
        var eta = 0
        if writes > left {
            let untilReset = max(0, Int((budget.resetAt ?? now.addingTimeInterval(3600)).timeIntervalSince(now)))
            let windows = (writes - left + limit - 1) / limit
            eta = untilReset + (windows - 1) * 3600
        }
        return RunReport.Queue(writes: writes, writeLimit: budget.limit, writesLeft: budget.remaining,
                               resetsAt: budget.resetAt.map(RunReport.iso), etaSeconds: writes == 0 ? 0 : eta)
    }
}
