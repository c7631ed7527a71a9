/// What a run does with its plan — one pure decision for full runs, `plan`, `apply [PLAN]` and the change feed's
/// fast path (docs/reconciling.md, "One pipeline"). The edges gather the facts; this decides.
public enum RunDecision: Sendable, Equatable {
    /// Nothing to change.
    case inSync
    /// A dry run: write the plan file and the report (`held` when a gate holds and no approval releases it).
    case writePlan(held: Bool)
    /// `apply PLAN` with a plan that is no longer the plan (either side changed since it was made).
    case refuseStale(saved: String)
    /// A gate holds and no approval releases this exact plan: nothing is written, nothing queued.
    case hold
    /// Send (or queue) the changes; `approved` when an approval released a held plan (its deactivations then do
    /// not count in the rolling window).
    case send(approved: Bool)

    /// The facts a decision is made from.
    public struct Facts: Sendable, Equatable {
        public var dryRun: Bool
        public var changes: Int
        public var verdicts: [GateVerdict]
        /// Whether `approve` released this plan's hash.
        public var approved: Bool
        /// The hash of the plan file being applied (`apply PLAN`), and this run's.
        public var savedPlanHash: String?
        public var planHash: String

        public init(dryRun: Bool, changes: Int, verdicts: [GateVerdict], approved: Bool, savedPlanHash: String? = nil,
                    planHash: String) {
            self.dryRun = dryRun; self.changes = changes; self.verdicts = verdicts; self.approved = approved
            self.savedPlanHash = savedPlanHash; self.planHash = planHash
        }

        /// A gate holds and no approval released the plan.
        public var held: Bool { Gates.holds(verdicts) && !approved }
    }

    public static func decide(_ f: Facts) -> RunDecision {
        if f.dryRun { return .writePlan(held: f.held) }
        if let saved = f.savedPlanHash, saved != f.planHash { return .refuseStale(saved: saved) }
        if f.held { return .hold }
        if f.changes == 0 { return .inSync }
        return .send(approved: f.approved && Gates.holds(f.verdicts))
    }
}

extension GateInput {
    /// The gates' figures for a set of changes about to be made (a full plan, or the fast path's restricting part
    /// of one): counted the same way for both. `alsoQueued` are deactivations waiting in the write queue, not yet
    /// sent, which count in the rolling window as if applied.
    public init(changes: [Change], inScopePeople: Int, lastGoodInScopePeople: Int?, recentDeactivations: Int,
                alsoQueued: Int = 0, managedActiveAccounts: Int, missingRoleGroups: [String]) {
        let plan = Plan(changes: changes, conflicts: [], manualActions: [], unlinked: [])
        self.init(inScopePeople: inScopePeople, lastGoodInScopePeople: lastGoodInScopePeople,
                  plannedDeactivations: plan.deactivations + plan.deletions,
                  recentDeactivations: recentDeactivations + alsoQueued, managedActiveAccounts: managedActiveAccounts,
                  plannedDowngrades: plan.downgrades, missingRoleGroups: missingRoleGroups)
        plannedRestrictions = changes.filter { $0.urgency <= .demotion || $0.kind == .delete }.count
    }
}
