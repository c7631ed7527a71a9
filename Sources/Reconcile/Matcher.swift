/// Pairs directory people with MixerAI accounts: first by the stored link (anchor → account id), then by
/// normalised email. Ambiguity is a conflict, never a guess: the people involved get no invite, no change and
/// no deactivation.
public struct Matching: Sendable, Equatable {
    public enum How: String, Sendable, Equatable { case link, email }

    public struct Pair: Sendable, Equatable {
        public var anchor: String
        public var accountId: String
        public var how: How
        /// Positions in the matcher's `people` and `accounts` inputs (so callers need no lookups).
        public var personIndex: Int = -1
        public var accountIndex: Int = -1

        public init(anchor: String, accountId: String, how: How, personIndex: Int = -1, accountIndex: Int = -1) {
            self.anchor = anchor
            self.accountId = accountId
            self.how = how
            self.personIndex = personIndex
            self.accountIndex = accountIndex
        }

        public static func == (l: Pair, r: Pair) -> Bool {
            l.anchor == r.anchor && l.accountId == r.accountId && l.how == r.how
        }
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
        match(people: people, accounts: accounts, links: links, accountIndexById: indexById(accounts))
    }

    /// Account id → position in `accounts` (built once; the planner shares it with the matcher).
    static func indexById(_ accounts: [Account]) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(accounts.count)
        for (i, a) in accounts.enumerated() { index[a.id] = i }
        return index
    }

    static func match(people: [Person], accounts: [Account], links: [String: String],
                      accountIndexById: [String: Int]) -> Matching {
        var accountByEmail: [String: Int] = [:]
        accountByEmail.reserveCapacity(accounts.count)
        var duplicateAccountEmails: [String: [String]] = [:]
        for (i, a) in accounts.enumerated() {
            guard let e = a.email else { continue }
            if let first = accountByEmail[e] {
                duplicateAccountEmails[e, default: [accounts[first].id]].append(a.id)
            } else {
                accountByEmail[e] = i
            }
        }
        var personByEmail: [String: String] = [:]
        personByEmail.reserveCapacity(people.count)
        var duplicatePeopleEmails: [String: [String]] = [:]
        for p in people {
            guard let e = p.email else { continue }
            if let first = personByEmail[e] {
                duplicatePeopleEmails[e, default: [first]].append(p.anchor)
            } else {
                personByEmail[e] = p.anchor
            }
        }
        var anchorByAccount = [String?](repeating: nil, count: accounts.count)
        for (anchor, id) in links {
            guard let i = accountIndexById[id] else { continue }
            if anchorByAccount[i] == nil || anchor < anchorByAccount[i]! { anchorByAccount[i] = anchor }
        }

        var pairs: [Matching.Pair] = []
        pairs.reserveCapacity(min(people.count, accounts.count))
        var conflicts: [Matching.Conflict] = []
        var blocked = Set<String>()
        var usedAccounts = [Bool](repeating: false, count: accounts.count)
        var unmatched: [String] = []

        for (email, anchors) in duplicatePeopleEmails.sorted(by: { $0.key < $1.key }) {
            conflicts.append(.duplicateEmail(email: email, anchors: anchors.sorted()))
            blocked.formUnion(anchors)
        }
        for (email, ids) in duplicateAccountEmails.sorted(by: { $0.key < $1.key }) {
            conflicts.append(.duplicateAccounts(email: email, accountIds: ids.sorted()))
        }
        for pi in people.indices {
            let anchor = people[pi].anchor
            if !blocked.isEmpty && blocked.contains(anchor) { continue }
            if let id = links[anchor], let ai = accountIndexById[id] {
                pairs.append(.init(anchor: anchor, accountId: id, how: .link, personIndex: pi, accountIndex: ai))
                usedAccounts[ai] = true
                continue
            }
            guard let email = people[pi].email, let ai = accountByEmail[email] else {
                unmatched.append(anchor)
                continue
            }
            guard duplicateAccountEmails[email] == nil else {
                blocked.insert(anchor)
                continue
            }
            if let other = anchorByAccount[ai], other != anchor {
                conflicts.append(.emailOwnedByOtherLink(anchor: anchor, email: email, accountId: accounts[ai].id,
                                                        linkedAnchor: other))
                blocked.insert(anchor)
                continue
            }
            pairs.append(.init(anchor: anchor, accountId: accounts[ai].id, how: .email, personIndex: pi, accountIndex: ai))
            usedAccounts[ai] = true
        }
        pairs.sort { $0.anchor < $1.anchor }
        let unmatchedAccounts = accounts.indices.filter { !usedAccounts[$0] }.map { accounts[$0].id }.sorted()
        return Matching(pairs: pairs, unmatchedPeople: unmatched.sorted(), unmatchedAccounts: unmatchedAccounts,
                        conflicts: conflicts, blocked: blocked)
    }
}
