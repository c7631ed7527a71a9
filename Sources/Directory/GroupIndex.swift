import LDAPClient
import Reconcile

/// The groups under the groups base, indexed by their members, with nesting resolved client-side.
///
/// Works for any server: `member` / `uniqueMember` DNs (groupOfNames, groupOfUniqueNames, AD groups)
/// and posixGroup `memberUid`. Nested expansion walks "is a member of" edges breadth-first with a
/// visited set, so cycles end, and keeps the shortest path for "explain".
struct GroupIndex {
    static let attributes = [AttributeRequest("member"), AttributeRequest("uniqueMember"), AttributeRequest("memberUid")]

    private(set) var dns: [String] = []
    private var indexByNormalizedDN: [String: Int32] = [:]
    private var groupsByMemberDN: [String: [Int32]] = [:]
    private var groupsByMemberUid: [String: [Int32]] = [:]
    private var directMemberCounts: [Int] = []
    private var parents: [[Int32]] = []
    private let nested: Bool

    init(nested: Bool) { self.nested = nested }

    var count: Int { dns.count }

    /// Adds one group entry read with `GroupIndex.attributes`.
    mutating func add(_ entry: LDAPEntry) {
        let index = Int32(dns.count)
        dns.append(entry.dn)
        indexByNormalizedDN[DistinguishedName.normalize(entry.dn)] = index
        var members = 0
        for slot in 0..<2 {
            for value in entry.values[slot] {
                guard var dn = value.text else { continue }
                if slot == 1 { dn = Self.stripOptionalUID(dn) }
                groupsByMemberDN[DistinguishedName.normalize(dn), default: []].append(index)
                members += 1
            }
        }
        for value in entry.values[2] {
            guard let uid = value.text else { continue }
            groupsByMemberUid[uid, default: []].append(index)
            members += 1
        }
        directMemberCounts.append(members)
    }

    /// Links groups to the groups that contain them; call once after the last `add`.
    mutating func finish() {
        parents = Array(repeating: [], count: dns.count)
        guard nested else { return }
        for (normalized, child) in indexByNormalizedDN {
            if let containing = groupsByMemberDN[normalized] {
                parents[Int(child)] = containing
            }
        }
    }

    /// Whether a group with this DN was read.
    func contains(_ dn: String) -> Bool {
        indexByNormalizedDN[DistinguishedName.normalize(dn)] != nil
    }

    /// Every group the entry belongs to, direct first, then nested ones with their path.
    func memberships(normalizedDN: String, uid: String?) -> [GroupMembership] {
        var direct: [Int32] = groupsByMemberDN[normalizedDN] ?? []
        if let uid, let byUid = groupsByMemberUid[uid] { direct.append(contentsOf: byUid) }
        if direct.isEmpty { return [] }
        var visited = Set<Int32>()
        var result: [GroupMembership] = []
        var queue: [(Int32, [String])] = []
        for g in direct where visited.insert(g).inserted {
            queue.append((g, []))
        }
        var head = 0
        while head < queue.count {
            let (group, via) = queue[head]
            head += 1
            result.append(GroupMembership(dn: dns[Int(group)], via: via))
            guard nested else { continue }
            for parent in parents[Int(group)] where visited.insert(parent).inserted {
                queue.append((parent, via + [dns[Int(group)]]))
            }
        }
        return result
    }

    /// The groups as read, for the snapshot.
    var groups: [DirectoryGroup] {
        zip(dns, directMemberCounts).map { DirectoryGroup(dn: $0, directMembers: $1) }
    }

    /// `uniqueMember` is NameAndOptionalUID: `dn#'0101'B`; the UID part is not part of the DN.
    static func stripOptionalUID(_ value: String) -> String {
        guard value.hasSuffix("'B"), let hash = value.lastIndex(of: "#") else { return value }
        let tail = value[value.index(after: hash)...]
        guard tail.hasPrefix("'") else { return value }
        return String(value[..<hash])
    }
}
