import Foundation
import MixerAI
import Reconcile
import Report
import State

/// One run's identity and what it gathered on the way; every report of the run is made from it.
struct RunContext: Sendable {
    let mode: RunMode
    let runId: String
    let started: Date
    var timings: [String: Int] = [:]
    var warnings: [String]
    /// A dry run beside a daemon that holds the lock: unfinished intents are left to the daemon.
    var besideDaemon = false
    /// `fix_app_metadata`: accounts whose `app_metadata` admin this run corrected, with the role set.
    var fixedAppAdmins: [String: Role] = [:]

    init(mode: RunMode, started: Date, warnings: [String]) {
        self.mode = mode
        self.started = started
        self.warnings = warnings
        runId = RunID.make(started)
    }
}

/// A run that ends before it acts — an error (exit 1) or a hold (exit 3) — with what it knew by then.
struct RunStop: Error {
    var outcome: RunOutcome
    var exit: Int32
    var errors: [String]
    var snapshot: RunReport.Snapshot?
    var gates: [GateVerdict] = []

    init(error: String, snapshot: RunReport.Snapshot? = nil) {
        outcome = .error
        exit = 1
        errors = [error]
        self.snapshot = snapshot
    }

    init(held: String, snapshot: RunReport.Snapshot, gates: [GateVerdict]) {
        outcome = .held
        exit = 3
        errors = [held]
        self.snapshot = snapshot
        self.gates = gates
    }

    func report(_ ctx: RunContext, finishedAt: Date) -> RunReport {
        var r = RunReport(runId: ctx.runId, mode: ctx.mode, outcome: outcome, planHash: nil, startedAt: ctx.started,
                          finishedAt: finishedAt,
                          snapshot: snapshot ?? RunReport.Snapshot(complete: false, entries: 0, people: 0, inScope: 0,
                                                                   pages: 0, searches: []),
                          gates: gates, timings: ctx.timings, errors: errors,
                          warnings: ctx.warnings)
        r.timings["total_ms"] = Int(finishedAt.timeIntervalSince(ctx.started) * 1000)
        return r
    }
}

/// The state database and, unless the caller holds it, the state directory's lock.
struct OpenState {
    let store: StateStore
    let lock: StateLock?
}

/// Both sides as this run read them.
struct Sides: Sendable {
    let snapshot: DirectorySnapshot
    /// The MixerAI the run reads and writes through; nil for the fast path, which plans against the drainer's view.
    let admin: (any MixerAIAdmin)?
    let accounts: [Account]
    let brands: [MixerBrand]
    let brandNamesById: [String: String]

    init(snapshot: DirectorySnapshot, admin: (any MixerAIAdmin)?, accounts: [Account], brands: [MixerBrand]) {
        self.snapshot = snapshot
        self.admin = admin
        self.accounts = accounts
        self.brands = brands
        brandNamesById = Dictionary(brands.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}

/// A plan judged by the gates: everything a run acts on and reports.
struct PlannedRun: Sendable {
    let sides: Sides
    let input: PlanInput
    let plan: Plan
    /// What this run would make: the plan's queue (full runs), or its restricting part (the fast path).
    let changes: [Change]
    let hash: String
    let inScope: Int
    let verdicts: [GateVerdict]
    /// An approval released this held plan.
    let approved: Bool
    let now: Date
    /// MixerAI's write budget as the read left it (nil for the fast path, which read nothing from MixerAI).
    var budget: WriteBudget?
    /// `[supabase]`: the run's ban step (nil: bans are off, or the run does not write).
    var ban: SignInBan?

    var held: Bool { Gates.holds(verdicts) && !approved }
    var snapshotSummary: RunReport.Snapshot { Reconciler.summary(sides.snapshot, inScope: inScope) }
}
