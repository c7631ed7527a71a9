import LDAPClient
import Reconcile

/// The groups under the groups base, indexed by their members, with nesting resolved client-side.
///
/// Works for any server: `member` / `uniqueMember` DNs (groupOfNames, groupOfUniqueNames, AD groups)
/// and posixGroup `memberUid`. Nested expansion walks "is a member of" edges breadth-first with a
/// visited set, so cycles end, and keeps the shortest path for "explain".
///
/// Memory matters at 100,000 people: member lists live in flat arrays (no array per member), and the
/// membership list of a set of direct groups is computed once and shared by everyone with that set.
struct GroupIndex {
    static let attributes = [AttributeRequest("member"), AttributeRequest("uniqueMember"), AttributeRequest("memberUid")]

    /// What a group search asks for. Active Directory sends large `member` lists in ranges whatever is asked
    /// (MaxValRange, 1,500 by default); asking for the first range explicitly makes every AD server — Samba
    /// included, which does not force ranges — take the same path, the rest fetched with `member;range=N-*`.
    static func attributes(for flavor: DirectoryFlavor) -> [AttributeRequest] {
        guard flavor == .activeDirectory else { return attributes }
        return [AttributeRequest("member;range=0-1499"), AttributeRequest("uniqueMember"), AttributeRequest("memberUid")]
    }

    private(set) var dns: [String] = []
    private var indexByNormalizedDN: [String: Int32] = [:]
    /// Member key (normalised DN bytes, or NUL + memberUid) → slot; `headBySlot[slot]` starts its list.
    private var members = MemberTable()
    private var headBySlot: [Int32] = []
    private var scratch: [UInt8] = []
    /// Whether any posixGroup memberUid was read (else people's uids need no lookup).
    private var hasUidMembers = false
    /// Singly linked lists of (group, next) in one flat array; -1 ends a list.
    private var linkGroup: [Int32] = []
    private var linkNext: [Int32] = []
    private var directMemberCounts: [Int] = []
    private var parents: [[Int32]] = []
    private var cache: [[Int32]: [GroupMembership]] = [:]
    /// The same cache for the common case of at most two direct groups, keyed without hashing an array.
    private var smallCache: [UInt64: [GroupMembership]] = [:]
    private let nested: Bool

    init(nested: Bool) { self.nested = nested }

    var count: Int { dns.count }

    /// Adds one group entry read with `GroupIndex.attributes`, straight from the wire (values are digested
    /// here, never copied into Strings).
    mutating func add(_ entry: LDAPRawEntry) {
        let index = begin(dn: entry.dn)
        members.reserve(members.count + entry.values.reduce(0) { $0 + $1.count })
        var count = 0
        for slot in 0..<3 {
            for value in entry.values[slot] {
                addMember(value, slot: slot, group: index)
                count += 1
            }
        }
        directMemberCounts.append(count)
    }

    /// More members of a group already added (the next part of a ranged attribute): `entry.values[0]` are
    /// values of the attribute in `slot` (0 member, 1 uniqueMember, 2 memberUid).
    mutating func addMore(_ entry: LDAPRawEntry, slot: Int, toGroup dn: String) {
        guard let index = indexByNormalizedDN[DistinguishedName.normalize(dn)] else { return }
        for value in entry.values[0] {
            addMember(value, slot: slot, group: index)
            directMemberCounts[Int(index)] += 1
        }
    }

    private mutating func begin(dn: String) -> Int32 {
        let index = Int32(dns.count)
        dns.append(dn)
        indexByNormalizedDN[DistinguishedName.normalize(dn)] = index
        return index
    }

    /// Slot 0 `member` and 1 `uniqueMember` hold DNs; slot 2 `memberUid` holds a uid.
    private mutating func addMember(_ value: UnsafeBufferPointer<UInt8>, slot: Int, group: Int32) {
        if slot == 2 {
            hasUidMembers = true
            link([0] + Array(value), to: group)
        } else {
            DistinguishedName.normalize(bytes: slot == 1 ? Self.stripOptionalUID(value) : value, into: &scratch)
            link(scratch, to: group)
        }
    }

    /// memberUid keys start with NUL, which no normalised DN contains.
    private static func uidKey(_ uid: String) -> [UInt8] { [0] + Array(uid.utf8) }

    private mutating func link(_ key: [UInt8], to group: Int32) {
        let slot = Int(members.insert(key))
        if slot == headBySlot.count { headBySlot.append(-1) }
        let next = headBySlot[slot]
        // A member listed twice in one group counts once.
        if next >= 0 && linkGroup[Int(next)] == group { return }
        headBySlot[slot] = Int32(linkGroup.count)
        linkGroup.append(group)
        linkNext.append(next)
    }

    private func groups(of key: [UInt8]) -> [Int32] {
        guard let slot = members.find(key) else { return [] }
        var cursor = headBySlot[Int(slot)]
        var result: [Int32] = []
        while cursor >= 0 {
            result.append(linkGroup[Int(cursor)])
            cursor = linkNext[Int(cursor)]
        }
        return result
    }

    /// Links groups to the groups that contain them; call once after the last `add`.
    mutating func finish() {
        parents = Array(repeating: [], count: dns.count)
        guard nested else { return }
        for (normalized, child) in indexByNormalizedDN {
            parents[Int(child)] = groups(of: Array(normalized.utf8)).sorted()
        }
    }

    /// Whether a group with this DN was read.
    func contains(_ dn: String) -> Bool {
        indexByNormalizedDN[DistinguishedName.normalize(dn)] != nil
    }

    /// Every group the entry with this DN (and uid, for memberUid) belongs to: direct first (in reading
    /// order), then nested ones with their path.
    mutating func memberships(dn: String, uid: String?) -> [GroupMembership] {
        DistinguishedName.normalize(dn, into: &scratch)
        var direct = groups(of: scratch)
        if hasUidMembers, let uid { direct.append(contentsOf: groups(of: Self.uidKey(uid))) }
        if direct.isEmpty { return [] }
        direct.sort()
        if direct.count <= 2 {
            let key = UInt64(UInt32(bitPattern: direct[0]) &+ 1) << 32
                | UInt64(direct.count == 2 ? UInt32(bitPattern: direct[1]) &+ 1 : 0)
            if let known = smallCache[key] { return known }
            let result = expand(direct)
            smallCache[key] = result
            return result
        }
        if let known = cache[direct] { return known }
        let result = expand(direct)
        cache[direct] = result
        return result
    }

    private func expand(_ direct: [Int32]) -> [GroupMembership] {
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
    static func stripOptionalUID(_ value: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let n = value.count
        guard n >= 4, value[n - 1] == UInt8(ascii: "B"), value[n - 2] == UInt8(ascii: "'"),
              let hash = value.lastIndex(of: UInt8(ascii: "#")), hash + 1 < n, value[hash + 1] == UInt8(ascii: "'"),
              hash > 0, value[hash - 1] != UInt8(ascii: "\\") else { return value }
        return UnsafeBufferPointer(rebasing: value[..<hash])
    }
}
