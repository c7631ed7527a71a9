/// How urgent a change is when writes are scarce (docs/reconciling.md): offboarding first, then demotions, then
/// profile fixes, then invites and promotions; deletions of long-offboarded accounts last.
public enum Urgency: Int, Sendable, Comparable, Codable {
    case offboarding = 0, demotion, profile, invite, promotion, cleanup

    public static func < (l: Urgency, r: Urgency) -> Bool { l.rawValue < r.rawValue }
}

extension Change {
    /// Where this change goes in the write queue.
    public var urgency: Urgency {
        switch kind {
        case .deactivate: return .offboarding
        case .update: return .profile
        case .invite: return .invite
        case .reactivate: return .promotion
        case .delete: return .cleanup
        case .setRole, .setBrands: return restricts ? .demotion : .promotion
        }
    }

    /// Whether the change only takes access away and grants nothing (the change feed's fast path): an offboarding,
    /// or a role or brand change where no role goes up and no brand is added.
    public var onlyRestricts: Bool {
        switch kind {
        case .deactivate: return true
        case .setRole, .setBrands:
            guard restricts else { return false }
            if let f = from.role, let t = to.role, t > f { return false }
            if from.role == nil && to.role != nil { return false }
            let had = from.brands ?? [:]
            for (brand, role) in to.brands ?? [:] {
                guard let before = had[brand], role <= before else { return false }
            }
            return true
        default: return false
        }
    }

    /// Whether the change takes away any access: a lower global role, or a brand removed or lowered.
    public var restricts: Bool {
        if let f = from.role, let t = to.role, t < f { return true }
        let want = to.brands ?? [:]
        for (brand, role) in from.brands ?? [:] {
            guard let kept = want[brand], kept >= role else { return true }
        }
        return false
    }

    /// Decision 5: an invite is followed by a PUT unless the invite alone yields the desired state — no brand, or
    /// exactly one brand at the global role (MixerAI grants the invite's brand at the global role on acceptance).
    public var inviteNeedsUpdate: Bool {
        guard kind == .invite else { return false }
        let brands = to.brands ?? [:]
        if brands.isEmpty { return false }
        return !(brands.count == 1 && brands.first!.value == to.role)
    }

    /// Writes this change spends from MixerAI's 50-per-hour budget (decision 12): invite 1 (2 with the PUT),
    /// offboarding 2 (1 when the account is already inactive), reactivation 2, any other change 1.
    public var writes: Int {
        switch kind {
        case .invite: return inviteNeedsUpdate ? 2 : 1
        case .deactivate: return from.active == false ? 1 : 2
        case .reactivate: return 2
        case .update, .setRole, .setBrands, .delete: return 1
        }
    }

    /// What MixerAI will hold right after the invite alone, before any PUT: the global role, and the first brand
    /// by name at the global role (granted when the invite is accepted).
    public var inviteGrant: AccountState {
        let first = (to.brands ?? [:]).keys.sorted().first
        return AccountState(role: to.role, brands: first.map { [$0: to.role ?? .viewer] } ?? [:])
    }
}

extension Plan {
    /// The changes in the order they are applied: by urgency, then kind, then anchor (stable for equal inputs).
    public var queue: [Change] {
        changes.sorted { ($0.urgency, $0.kind.rawValue, $0.anchor ?? "", $0.mixerUserId ?? "")
            < ($1.urgency, $1.kind.rawValue, $1.anchor ?? "", $1.mixerUserId ?? "") }
    }

    /// Writes the whole plan needs.
    public var writes: Int { changes.reduce(0) { $0 + $1.writes } }

    /// The queue's changes that only take access away (`Change.onlyRestricts`), in order.
    public var restrictingOnly: [Change] { queue.filter(\.onlyRestricts) }
}

private func < (l: (Urgency, String, String, String), r: (Urgency, String, String, String)) -> Bool {
    if l.0 != r.0 { return l.0 < r.0 }
    return (l.1, l.2, l.3) < (r.1, r.2, r.3)
}
