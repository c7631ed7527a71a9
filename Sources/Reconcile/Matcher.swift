import Dispatch
import Foundation

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
        var index = MatchIndex(people: people, accounts: accounts)
        return match(people: people, accounts: accounts, links: links, index: &index)
    }

    static func match(people: [Person], accounts: [Account], links: [String: String], index: inout MatchIndex) -> Matching {
        // Stored links, resolved once per link (not once per person), in two halves on two cores: person position →
        // account position, which accounts are linked at all, and links whose anchor is absent from this snapshot.
        var linkedAccount = [Int32](repeating: -1, count: people.count)
        var linked = [Bool](repeating: false, count: accounts.count)
        let halves = ResultBox<[(linked: [Int32], absent: [(String, Int)])]>()
        halves.value = [([], []), ([], [])]
        let middle = links.index(links.startIndex, offsetBy: links.count / 2)
        let lookup = index
        linkedAccount.withUnsafeMutableBufferPointer { personToAccount in
            let out = UnsafeSendable(personToAccount)
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                var linkedHere: [Int32] = []
                var absentHere: [(String, Int)] = []
                let slice = links[half == 0 ? links.startIndex..<middle : middle..<links.endIndex]
                // Hash every link once, then look the ids and the anchors up in home-slot order (sequential
                // probes, as the tables were built), and only then put the answers together, link by link.
                var idH1: [UInt64] = [], idH2: [UInt32] = [], anchorH1: [UInt64] = [], anchorH2: [UInt32] = []
                idH1.reserveCapacity(slice.count); idH2.reserveCapacity(slice.count)
                anchorH1.reserveCapacity(slice.count); anchorH2.reserveCapacity(slice.count)
                for (anchor, id) in slice {
                    let (a1, a2) = IdentifierTable.hash(anchor)
                    let (i1, i2) = IdentifierTable.hash(id)
                    anchorH1.append(a1); anchorH2.append(UInt32(truncatingIfNeeded: a2))
                    idH1.append(i1); idH2.append(UInt32(truncatingIfNeeded: i2))
                }
                var accountOf = [Int32](repeating: -1, count: idH1.count)
                for k in homeSlotOrder(idH1, mask: lookup.accountIdMask) {
                    accountOf[Int(k)] = lookup.account(h1: idH1[Int(k)], h2: idH2[Int(k)]) ?? -1
                }
                var personOf = [Int32](repeating: -1, count: anchorH1.count)
                for k in homeSlotOrder(anchorH1, mask: lookup.personAnchorMask) {
                    personOf[Int(k)] = lookup.person(h1: anchorH1[Int(k)], h2: anchorH2[Int(k)]) ?? -1
                }
                for (k, link) in slice.enumerated() {
                    let ai = accountOf[k]
                    guard ai >= 0 else { continue }
                    linkedHere.append(ai)
                    let pi = personOf[k]
                    if pi >= 0 {
                        out.buffer[Int(pi)] = ai  // anchors are unique keys: each half writes its own positions
                    } else {
                        absentHere.append((link.key, Int(ai)))
                    }
                }
                halves.set(half, (linkedHere, absentHere))
            }
        }
        for half in halves.value! {
            for ai in half.linked { linked[Int(ai)] = true }
            index.absentLinks += half.absent
        }
        index.linkedAccounts = linked
        // The anchors linked to an account, needed only when someone else's email matches a linked account (rare).
        var ownersById: [String: [String]]?
        func lowestOwner(of accountId: String) -> String? {
            if ownersById == nil {
                var owners: [String: [String]] = [:]
                for (anchor, id) in links { owners[id, default: []].append(anchor) }
                ownersById = owners
            }
            return ownersById?[accountId]?.min()
        }

        var pairs: [Matching.Pair] = []
        pairs.reserveCapacity(min(people.count, accounts.count))
        var conflicts: [Matching.Conflict] = []
        var blocked = Set<String>()
        var usedAccounts = [Bool](repeating: false, count: accounts.count)
        var unmatched: [String] = []

        for (email, anchors) in index.duplicatePeopleEmails.sorted(by: { $0.key < $1.key }) {
            conflicts.append(.duplicateEmail(email: email, anchors: anchors.sorted()))
            blocked.formUnion(anchors)
        }
        for (email, ids) in index.duplicateAccountEmails.sorted(by: { $0.key < $1.key }) {
            conflicts.append(.duplicateAccounts(email: email, accountIds: ids.sorted()))
        }
        var duplicate = [Bool](repeating: false, count: people.count)
        for pi in index.duplicatePeople { duplicate[pi] = true }
        people.withUnsafeBufferPointer { people in
            accounts.withUnsafeBufferPointer { accounts in
                for pi in people.indices {
                    if duplicate[pi] { continue }
                    let linkedTo = Int(linkedAccount[pi])
                    if linkedTo >= 0 {
                        pairs.append(.init(anchor: people[pi].anchor, accountId: accounts[linkedTo].id, how: .link,
                                           personIndex: pi, accountIndex: linkedTo))
                        usedAccounts[linkedTo] = true
                        continue
                    }
                    guard let email = people[pi].email, let found = index.account(email: email, accounts) else {
                        unmatched.append(people[pi].anchor)
                        index.unmatchedPeople.append(pi)
                        continue
                    }
                    let ai = Int(found)
                    guard index.duplicateAccountEmails[email] == nil else {
                        blocked.insert(people[pi].anchor)
                        continue
                    }
                    if linked[ai], let other = lowestOwner(of: accounts[ai].id), other != people[pi].anchor {
                        conflicts.append(.emailOwnedByOtherLink(anchor: people[pi].anchor, email: email,
                                                                accountId: accounts[ai].id, linkedAnchor: other))
                        blocked.insert(people[pi].anchor)
                        continue
                    }
                    pairs.append(.init(anchor: people[pi].anchor, accountId: accounts[ai].id, how: .email,
                                       personIndex: pi, accountIndex: ai))
                    usedAccounts[ai] = true
                }
            }
        }
        let unmatchedAccounts = accounts.indices.filter { !usedAccounts[$0] }.map { accounts[$0].id }.sorted()
        return Matching(pairs: pairs, unmatchedPeople: unmatched.sorted(), unmatchedAccounts: unmatchedAccounts,
                        conflicts: conflicts, blocked: blocked)
    }
}

/// The lookups a diff needs, built once over people and accounts with `IndexTable` (positions, not copies).
struct MatchIndex {
    private var accountById: IdentifierTable
    private var accountByEmail: IndexTable
    private var personByAnchor: IdentifierTable
    private var personByEmail: IndexTable
    var duplicateAccountEmails: [String: [String]] = [:]
    var duplicatePeopleEmails: [String: [String]] = [:]
    /// Positions of people who share an email with someone else.
    var duplicatePeople: [Int] = []
    /// The email hash of each person and account (0 for none): a quick "same email" before comparing strings.
    var personEmailHashes: [UInt64] = []
    var accountEmailHashes: [UInt64] = []
    /// Filled by the matcher: stored links whose anchor is not in the snapshot (anchor, account position).
    var absentLinks: [(String, Int)] = []
    /// Positions of people with no account, in input order.
    var unmatchedPeople: [Int] = []
    /// Filled by the matcher: whether a stored link names each account.
    var linkedAccounts: [Bool] = []

    init(people: [Person], accounts: [Account]) {
        // The two sides are independent: on two cores they are indexed side by side.
        let sides = ResultBox<[Side?]>()
        sides.value = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { side in
            if side == 0 {
                sides.set(0, accounts.withUnsafeBufferPointer { a in Self.index(count: a.count, identifier: { a[$0].id }, email: { a[$0].email }) })
            } else {
                sides.set(1, people.withUnsafeBufferPointer { p in Self.index(count: p.count, identifier: { p[$0].anchor }, email: { p[$0].email }) })
            }
        }
        let accountSide = sides.value![0]!, peopleSide = sides.value![1]!
        (accountById, accountByEmail, accountEmailHashes) = (accountSide.byIdentifier, accountSide.byEmail, accountSide.emailHashes)
        (personByAnchor, personByEmail, personEmailHashes) = (peopleSide.byIdentifier, peopleSide.byEmail, peopleSide.emailHashes)
        for (email, first, other) in accountSide.duplicates {
            duplicateAccountEmails[email, default: [accounts[first].id]].append(accounts[other].id)
        }
        for (email, first, other) in peopleSide.duplicates {
            duplicatePeopleEmails[email, default: [people[first].anchor]].append(people[other].anchor)
            duplicatePeople += [first, other]
        }
    }

    /// One side indexed: identifiers (anchors or account ids) and emails, with every email's hash.
    struct Side {
        var byIdentifier: IdentifierTable
        var byEmail: IndexTable
        var emailHashes: [UInt64]
        /// Each repeated email: the first position that holds it and another one.
        var duplicates: [(email: String, first: Int, other: Int)]
    }

    /// One sequential pass computes every hash; the tables are then filled in home-slot order.
    @inline(__always)  // inlined at both call sites, so the key closures are too (a called closure per key cost ~40 %)
    static func index(count: Int, identifier: (Int) -> String, email: (Int) -> String?) -> Side {
        var byIdentifier = IdentifierTable(capacity: count)
        var byEmail = IndexTable(capacity: count)
        var idHashes = [UInt64](repeating: 0, count: count)
        var idTags = [UInt32](repeating: 0, count: count)
        var emailHashes = [UInt64](repeating: 0, count: count)
        var duplicates: [(email: String, first: Int, other: Int)] = []
        for i in 0..<count {
            let (h1, h2) = IdentifierTable.hash(identifier(i))
            idHashes[i] = h1
            idTags[i] = UInt32(truncatingIfNeeded: h2)
            if let e = email(i) { emailHashes[i] = IndexTable.hash(e) }
        }
        for p in homeSlotOrder(idHashes, mask: byIdentifier.mask) {
            byIdentifier.insert(h1: idHashes[Int(p)], h2: idTags[Int(p)], position: p)
        }
        for p in homeSlotOrder(emailHashes, mask: byEmail.mask) {
            guard let e = email(Int(p)) else { continue }
            if let first = byEmail.insert(e, hash: emailHashes[Int(p)], position: p, key: { email(Int($0)) }) {
                duplicates.append((e, Int(first), Int(p)))
            }
        }
        return Side(byIdentifier: byIdentifier, byEmail: byEmail, emailHashes: emailHashes, duplicates: duplicates)
    }

    func account(h1: UInt64, h2: UInt32) -> Int32? { accountById.find(h1: h1, h2: h2) }
    func person(h1: UInt64, h2: UInt32) -> Int32? { personByAnchor.find(h1: h1, h2: h2) }
    var accountIdMask: Int { accountById.mask }
    var personAnchorMask: Int { personByAnchor.mask }
    func account(email: String, _ accounts: UnsafeBufferPointer<Account>) -> Int32? {
        accountByEmail.find(email) { accounts[Int($0)].email }
    }
    func person(anchor: String, _ people: [Person]) -> Int32? { personByAnchor.find(anchor) }
    func hasPerson(email: String, _ people: [Person]) -> Bool { personByEmail.find(email) { people[Int($0)].email } != nil }
}
