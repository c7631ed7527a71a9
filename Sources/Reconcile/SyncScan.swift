import Dispatch
import Foundation

/// A person's roles as the planner uses them, resolved once per distinct set of memberships.
final class Resolved: @unchecked Sendable {
    let resolution: RoleResolution
    /// By brand name, only brands MixerAI has.
    let brands: [String: Role]
    /// By MixerAI brand id.
    let brandIds: [String: Role]
    /// Brands of the mappings that MixerAI does not have (reported).
    let unknownBrands: [String]
    /// An account holding exactly `brandIds` at `resolution.global` needs nothing and says nothing.
    let plain: Bool

    init(groups: [GroupMembership], input: PlanInput, roles: RoleMappingIndex, brandIdByName: [String: String],
         normalize: (String) -> String) {
        let r = RoleResolver.resolve(Person(anchor: "", dn: "", groups: groups), index: roles,
                                     allowAdminGrants: input.policy.allowAdminGrants, normalize: normalize)
        var names: [String: Role] = [:]
        var ids: [String: Role] = [:]
        var unknown: [String] = []
        for (name, role) in r.brands {
            if let id = brandIdByName[name] { names[name] = role; ids[id] = role } else { unknown.append(name) }
        }
        resolution = r
        brands = names
        brandIds = ids
        unknownBrands = unknown.sorted()
        plain = r.global != nil && !r.adminWithheld && unknown.isEmpty
    }
}

/// The planner's first pass over matched pairs: which are exactly in sync (most of them, on most runs), decided
/// from the fields in place, on two cores. The rest are worked through one by one with their reasons.
struct SyncScan: @unchecked Sendable {
    let people: UnsafeBufferPointer<Person>
    let accounts: UnsafeBufferPointer<Account>
    let pairs: UnsafeBufferPointer<Matching.Pair>
    let personEmailHashes: [UInt64]
    let accountEmailHashes: [UInt64]
    let input: PlanInput
    let brandIdByName: [String: String]
    let roles: RoleMappingIndex
    let normalize: @Sendable (String) -> String

    /// What the scan found: positions in `pairs` of the pairs that are not plainly in sync (worked through one by
    /// one), and of the pairs matched by email that are in sync (first adoptions: linked when the plan is applied).
    struct Found: Sendable {
        var candidates: [Int] = []
        var adoptions: [Int] = []
    }

    static func candidates(input: PlanInput, pairs: [Matching.Pair], personEmailHashes: [UInt64], accountEmailHashes: [UInt64],
                           brandIdByName: [String: String], roles: RoleMappingIndex,
                           normalize: @escaping @Sendable (String) -> String) -> Found {
        input.people.withUnsafeBufferPointer { people in
            input.accounts.withUnsafeBufferPointer { accounts in
                pairs.withUnsafeBufferPointer { pairs in
                    let scan = SyncScan(people: people, accounts: accounts, pairs: pairs, personEmailHashes: personEmailHashes,
                                        accountEmailHashes: accountEmailHashes, input: input, brandIdByName: brandIdByName,
                                        roles: roles, normalize: normalize)
                    let halves = ResultBox<[Found]>()
                    halves.value = [Found(), Found()]
                    let count = pairs.count
                    let split = count > 20_000  // below that, a second thread costs more than it saves
                    DispatchQueue.concurrentPerform(iterations: split ? 2 : 1) { half in
                        halves.set(half, scan.scan(half == 0 ? 0..<(split ? count / 2 : count) : (count / 2)..<count))
                    }
                    let (first, second) = (halves.value![0], halves.value![1])
                    return Found(candidates: first.candidates + second.candidates, adoptions: first.adoptions + second.adoptions)
                }
            }
        }
    }

    func scan(_ range: Range<Int>) -> Found {
        var out = Found()
        var resolutions = MembershipMemo<Resolved>()  // one per thread
        for k in range {
            let pi = pairs[k].personIndex, ai = pairs[k].accountIndex
            guard people[pi].leaverEvidence.isEmpty, accounts[ai].active, !accounts[ai].pending else {
                out.candidates.append(k)
                continue
            }
            let resolved = resolutions.value(for: people[pi].groups) {
                Resolved(groups: people[pi].groups, input: input, roles: roles, brandIdByName: brandIdByName,
                         normalize: normalize)
            }
            if !inSync(pi, ai, resolved) {
                out.candidates.append(k)
            } else if pairs[k].how == .email {
                out.adoptions.append(k)
            }
        }
        return out
    }

    func inSync(_ pi: Int, _ ai: Int, _ resolved: Resolved) -> Bool {
        guard resolved.plain, let global = resolved.resolution.global, accounts[ai].globalRole == global,
              !(accounts[ai].appAdmin && global != .admin) else { return false }
        // A different email hash is a rename; equal hashes are the same email (a 64-bit coincidence would only
        // hide one email_change note for one run).
        if personEmailHashes[pi] != accountEmailHashes[ai] && people[pi].email != nil && accounts[ai].email != nil {
            return false
        }
        return Planner.sameRoles(accounts[ai].brands, resolved.brandIds)
            && Planner.sameText(accounts[ai].fullName, people[pi].fullName)
            && Planner.sameText(accounts[ai].jobTitle, people[pi].jobTitle)
            && Planner.sameText(accounts[ai].company, people[pi].company)
    }
}
