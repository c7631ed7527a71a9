/// Pairs directory people with MixerAI accounts: first by the stored link (anchor → account id), then by
/// normalised email. Ambiguity is a conflict, never a guess: the people involved get no invite, no change and
/// no deactivation.
public struct Matching: Sendable, Equatable {
    public enum How: String, Sendable, Equatable { case link, email }

    public struct Pair: Sendable, Equatable {
        public var anchor: String
        public var accountId: String
        public var how: How
    }

    public enum Conflict: Sendable, Equatable {
        /// Several people share one email: none of them is matched or invited.
        case duplicateEmail(email: String, anchors: [String])
        /// The person's email belongs to an account linked to someone else.
        case emailOwnedByOtherLink(anchor: String, email: String, accountId: String, linkedAnchor: String)
        /// Several MixerAI accounts share one email (case variants): none is matched by email.
        case duplicateAccounts(email: String, accountIds: [String])
    }

    public var pairs: [Pair]
    /// People with no account (invite candidates), by anchor.
    public var unmatchedPeople: [String]
    /// Accounts no person accounts for, by id.
    public var unmatchedAccounts: [String]
    public var conflicts: [Conflict]
    /// Anchors that must not be acted on because of a conflict.
    public var blocked: Set<String>
}

public enum Matcher {
    public static func match(people: [Person], accounts: [Account], links: [String: String]) -> Matching {
        let accountById = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var accountsByEmail: [String: [String]] = [:]
        for a in accounts { if let e = a.email { accountsByEmail[e, default: []].append(a.id) } }
        var peopleByEmail: [String: [String]] = [:]
        for p in people { if let e = p.email { peopleByEmail[e, default: []].append(p.anchor) } }
        let anchorByAccount = Dictionary(links.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })

        var pairs: [Matching.Pair] = []
        var conflicts: [Matching.Conflict] = []
        var blocked = Set<String>()
        var usedAccounts = Set<String>()
        var unmatched: [String] = []

        for (email, anchors) in peopleByEmail.sorted(by: { $0.key < $1.key }) where anchors.count > 1 {
            conflicts.append(.duplicateEmail(email: email, anchors: anchors.sorted()))
            blocked.formUnion(anchors)
        }
        for (email, ids) in accountsByEmail.sorted(by: { $0.key < $1.key }) where ids.count > 1 {
            conflicts.append(.duplicateAccounts(email: email, accountIds: ids.sorted()))
        }
        for person in people.sorted(by: { $0.anchor < $1.anchor }) {
            if blocked.contains(person.anchor) { continue }
            if let id = links[person.anchor], accountById[id] != nil {
                pairs.append(.init(anchor: person.anchor, accountId: id, how: .link))
                usedAccounts.insert(id)
                continue
            }
            guard let email = person.email, let ids = accountsByEmail[email] else {
                unmatched.append(person.anchor)
                continue
            }
            guard ids.count == 1 else {
                blocked.insert(person.anchor)
                continue
            }
            if let other = anchorByAccount[ids[0]], other != person.anchor {
                conflicts.append(.emailOwnedByOtherLink(anchor: person.anchor, email: email, accountId: ids[0],
                                                        linkedAnchor: other))
                blocked.insert(person.anchor)
                continue
            }
            pairs.append(.init(anchor: person.anchor, accountId: ids[0], how: .email))
            usedAccounts.insert(ids[0])
        }
        let unmatchedAccounts = accounts.map(\.id).filter { !usedAccounts.contains($0) }.sorted()
        return Matching(pairs: pairs, unmatchedPeople: unmatched, unmatchedAccounts: unmatchedAccounts,
                        conflicts: conflicts, blocked: blocked)
    }
}
