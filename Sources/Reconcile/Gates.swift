/// One safety gate's verdict, as the report shows it (`{"name", "verdict": "pass"|"hold", "detail"}`).
public struct GateVerdict: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable { case pass, hold }
    public var name: String
    public var verdict: Verdict
    public var detail: String

    public init(_ name: String, _ verdict: Verdict, _ detail: String) {
        self.name = name
        self.verdict = verdict
        self.detail = detail
    }
}

/// The figures the gates judge (docs/reconciling.md fixes their bases).
public struct GateInput: Sendable, Equatable {
    /// Why the read is not complete (nil for a complete read).
    public var incompleteRead: String?
    /// In-scope people of this snapshot.
    public var inScopePeople: Int
    /// In-scope people of the last good snapshot (the last complete one whose plan was applied or approved).
    public var lastGoodInScopePeople: Int?
    /// Deactivations this plan would make.
    public var plannedDeactivations: Int
    /// Deactivations applied in the last 24 h, not counting those released by an approval.
    public var recentDeactivations: Int
    /// Managed (linked, or matched by email to a person of this snapshot), active MixerAI accounts.
    public var managedActiveAccounts: Int
    /// Role downgrades this plan would make.
    public var plannedDowngrades: Int
    /// Configured role groups the directory did not return (renamed or deleted groups, typos).
    public var missingRoleGroups: [String] = []
    /// Changes that take any access away (offboardings, deletions, role or brand demotions): what a missing role
    /// group holds. Nil: the deactivations and downgrades.
    public var plannedRestrictions: Int?

    public init(incompleteRead: String? = nil, inScopePeople: Int, lastGoodInScopePeople: Int? = nil,
                plannedDeactivations: Int = 0, recentDeactivations: Int = 0, managedActiveAccounts: Int = 0,
                plannedDowngrades: Int = 0, missingRoleGroups: [String] = []) {
        self.missingRoleGroups = missingRoleGroups
        self.incompleteRead = incompleteRead
        self.inScopePeople = inScopePeople
        self.lastGoodInScopePeople = lastGoodInScopePeople
        self.plannedDeactivations = plannedDeactivations
        self.recentDeactivations = recentDeactivations
        self.managedActiveAccounts = managedActiveAccounts
        self.plannedDowngrades = plannedDowngrades
    }
}

/// The safety gates, as a pure function: any one `hold` holds the whole plan.
public enum Gates {
    public static func evaluate(_ input: GateInput, policy: Policy) -> [GateVerdict] {
        var verdicts: [GateVerdict] = []
        if let why = input.incompleteRead {
            verdicts.append(GateVerdict("completeness", .hold, "incomplete read: \(why)"))
        } else {
            verdicts.append(GateVerdict("completeness", .pass, "every search ended in success with an empty cookie"))
        }
        verdicts.append(input.inScopePeople == 0
            ? GateVerdict("empty_snapshot", .hold, "no person in scope: never a valid directory")
            : GateVerdict("empty_snapshot", .pass, "\(input.inScopePeople) people in scope"))
        if let last = input.lastGoodInScopePeople, last > 0 {
            let shrink = Double(last - input.inScopePeople) * 100 / Double(last)
            let detail = "\(input.inScopePeople) in scope, \(last) in the last good snapshot (shrink \(percent(max(0, shrink)))%, limit \(policy.maxShrinkPercent)%)"
            verdicts.append(GateVerdict("max_shrink_percent", shrink > Double(policy.maxShrinkPercent) ? .hold : .pass, detail))
        } else {
            verdicts.append(GateVerdict("max_shrink_percent", .pass, "no last good snapshot to compare with"))
        }
        let planned = input.plannedDeactivations
        if planned == 0 {
            // A plan with no deactivations is never held by a deactivation gate (decision 9).
            for name in ["max_deactivations", "max_deactivations_24h", "max_deactivations_percent"] {
                verdicts.append(GateVerdict(name, .pass, "no deactivation planned"))
            }
        } else {
            verdicts.append(GateVerdict("max_deactivations", planned > policy.maxDeactivations ? .hold : .pass,
                                        "\(planned) of limit \(policy.maxDeactivations)"))
            let window = planned + input.recentDeactivations
            verdicts.append(GateVerdict("max_deactivations_24h", window > policy.maxDeactivations ? .hold : .pass,
                                        "\(window) in 24 h (\(input.recentDeactivations) already applied) of limit \(policy.maxDeactivations)"))
            let base = max(input.managedActiveAccounts, 1)
            let share = Double(planned) * 100 / Double(base)
            verdicts.append(GateVerdict("max_deactivations_percent",
                                        share > Double(policy.maxDeactivationsPercent) ? .hold : .pass,
                                        "\(planned) of \(input.managedActiveAccounts) managed active accounts (\(percent(share))%, limit \(policy.maxDeactivationsPercent)%)"))
        }
        // A mapped group that vanished turns its members into "left every mapped group": hold anything that would
        // take access away until a human has looked; grants alone may go on.
        if input.missingRoleGroups.isEmpty {
            verdicts.append(GateVerdict("role_groups", .pass, "every configured role group was found"))
        } else {
            let restricting = input.plannedRestrictions ?? planned + input.plannedDowngrades
            verdicts.append(GateVerdict("role_groups", restricting > 0 ? .hold : .pass,
                                        "role group(s) not found: \(input.missingRoleGroups.joined(separator: "; "))"
                                        + (restricting > 0 ? " — \(restricting) deactivation(s)/downgrade(s) held" : " — nothing restricted")))
        }
        verdicts.append(GateVerdict("max_downgrades", input.plannedDowngrades > policy.maxDowngrades ? .hold : .pass,
                                    "\(input.plannedDowngrades) of limit \(policy.maxDowngrades)"))
        return verdicts
    }

    /// Whether any gate holds.
    public static func holds(_ verdicts: [GateVerdict]) -> Bool { verdicts.contains { $0.verdict == .hold } }

    static func percent(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
