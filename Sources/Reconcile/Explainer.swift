/// `mixer-sync explain WHO`: the chain from directory entry to decision for one person, as lines of text.
/// Pure: it reads the same inputs the planner read and the plan it made.
public enum Explainer {
    /// nil when WHO (an email or an anchor) names neither a directory person nor a MixerAI account.
    public static func explain(_ who: String, input: PlanInput, plan: Plan,
                               normalize: @escaping @Sendable (String) -> String = { $0.lowercased() }) -> [String]? {
        let email = EmailAddress.normalize(who)
        let people = input.people.filter { $0.anchor == who || ($0.email != nil && $0.email == email) }
        var accounts = input.accounts.filter { $0.email != nil && $0.email == email }
        for p in people {
            if let id = input.links[p.anchor], let a = input.accounts.first(where: { $0.id == id }), !accounts.contains(a) {
                accounts.append(a)
            }
        }
        let linkedAnchor = input.links.first { link in accounts.contains { $0.id == link.value } }?.key
        guard !people.isEmpty || !accounts.isEmpty || linkedAnchor != nil || input.links[who] != nil else { return nil }
        var lines: [String] = []
        if people.isEmpty {
            lines.append("directory: no person with this email or anchor in the snapshot")
            if let anchor = linkedAnchor ?? (input.links[who] != nil ? who : nil) {
                lines.append("state: linked to anchor \(anchor), which is absent from the complete snapshot")
            }
        }
        for p in people {
            lines.append("directory: \(p.dn)")
            lines.append("  anchor \(p.anchor), email \(p.email ?? "none"), found by rule(s) \(p.rules.joined(separator: ", "))")
            lines.append("  name \(p.fullName ?? "none"), title \(p.jobTitle ?? "none"), company \(p.company ?? "none")")
            if p.isLeaver { lines.append("  leaver evidence: " + p.leaverEvidence.map(\.rawValue).joined(separator: ", ")) }
            for g in p.groups.sorted(by: { $0.dn < $1.dn }) {
                lines.append("  member of \(g.dn)" + (g.via.isEmpty ? " (direct)" : " via " + g.via.joined(separator: " → ")))
            }
            let r = RoleResolver.resolve(p, mappings: input.mappings, allowAdminGrants: input.policy.allowAdminGrants,
                                         normalize: normalize)
            lines.append("roles (decision 1):")
            if r.reasons.isEmpty { lines.append("  matched by no role mapping: out of scope") }
            for reason in r.reasons { lines.append("  " + reason) }
            if let g = r.global {
                let brands = r.brands.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ", ")
                lines.append("  → global \(g.rawValue), brands \(brands.isEmpty ? "none" : brands)")
            } else {
                lines.append("  → not provisioned: no invite, an existing account is left as it is")
            }
            if let id = input.links[p.anchor] { lines.append("match: linked to MixerAI account \(id) (stored link)") }
        }
        for a in accounts {
            let brands = a.brands.sorted { $0.key < $1.key }
                .map { "\(input.brandNamesById[$0.key] ?? $0.key)=\($0.value.rawValue)" }.joined(separator: ", ")
            lines.append("mixerai: account \(a.id) \(a.email ?? "no email"): \(a.active ? "active" : "deactivated")"
                         + "\(a.pending ? ", invite pending" : ""), role \(a.globalRole?.rawValue ?? "none"), brands \(brands.isEmpty ? "none" : brands)")
        }
        if people.isEmpty && accounts.isEmpty == false && linkedAnchor == nil {
            lines.append("match: no directory person accounts for this account (unlinked = \(input.policy.unlinked.rawValue))")
        }
        let anchors = Set(people.map(\.anchor) + [linkedAnchor].compactMap { $0 })
        let ids = Set(accounts.map(\.id))
        let changes = plan.changes.filter { c in (c.anchor.map(anchors.contains) ?? false) || (c.mixerUserId.map(ids.contains) ?? false) }
        if changes.isEmpty { lines.append("decision: no change") }
        for c in changes {
            lines.append("decision: \(c.kind.rawValue) (\(c.writes) write\(c.writes == 1 ? "" : "s"), urgency \(c.urgency))")
            for reason in c.reasons { lines.append("  " + reason) }
        }
        for conflict in plan.conflicts where Self.involves(conflict, anchors: anchors, email: email, ids: ids) {
            lines.append("conflict: \(conflict) — no invite, no change, no deactivation until a human resolves it")
        }
        for m in plan.manualActions where m.email == email || accounts.contains(where: { $0.email == m.email }) {
            lines.append("manual action: \(m.kind.rawValue): \(m.reason)")
        }
        return lines
    }

    static func involves(_ c: Matching.Conflict, anchors: Set<String>, email: String?, ids: Set<String>) -> Bool {
        switch c {
        case .duplicateEmail(let e, let a): return e == email || !anchors.isDisjoint(with: a)
        case .emailOwnedByOtherLink(let anchor, let e, let id, let linked):
            return e == email || anchors.contains(anchor) || anchors.contains(linked) || ids.contains(id)
        case .duplicateAccounts(let e, let accountIds): return e == email || !ids.isDisjoint(with: accountIds)
        }
    }
}
