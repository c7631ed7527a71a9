import Foundation
import Reconcile

// diff-bench: the diff engine alone on N people × N accounts with 1 % churn (joiners, leavers, movers), median of 3
// runs per size; prints figures, checks the change counts against the churn it made, then prints
// `diff 1M: X.XX s, growth per 10x: Y.Y`.
// Memberships are diverse, as in a company: 40 departments, 4,000 teams, 30 brands with editor and viewer groups,
// a global editors group; each person is in a department, a team and 0–3 brand groups, which makes thousands of
// distinct membership sets (printed), not two.
// usage: diff-bench [SIZES…]   (default 10000 100000 1000000)

let sizes = CommandLine.arguments.dropFirst().compactMap(Int.init)
let runSizes = sizes.isEmpty ? [10_000, 100_000, 1_000_000] : sizes
let brandCount = 30
let brandNames = (0..<brandCount).map { "Brand \($0)" }
let mappings: [RoleMapping] = [RoleMapping(group: "cn=editors,ou=groups", role: .editor)]
    + (0..<brandCount).flatMap { b in
        [RoleMapping(group: "cn=brand-\(b)-editors,ou=groups", role: .editor, brand: brandNames[b]),
         RoleMapping(group: "cn=brand-\(b)-viewers,ou=groups", role: .viewer, brand: brandNames[b])]
    }

/// The membership set of template `t`: a department, a team, 0–3 brand groups, sometimes the editors group.
/// (The directory reader hands people with the same memberships one shared array: GroupIndex's cache. So here.)
func template(_ t: Int) -> [GroupMembership] {
    var dns = ["cn=dept-\(t % 40),ou=groups", "cn=team-\(t % 4000),ou=groups"]
    var h = UInt64(t) &* 0x9E37_79B9_7F4A_7C15
    for _ in 0..<Int(h % 4) {
        h = h &* 6364136223846793005 &+ 1442695040888963407
        let brand = Int((h >> 33) % UInt64(brandCount))
        dns.append("cn=brand-\(brand)-\((h >> 20) % 3 == 0 ? "editors" : "viewers"),ou=groups")
    }
    if t % 5 == 0 { dns.append("cn=editors,ou=groups") }
    return dns.map { GroupMembership(dn: $0) }
}

struct World {
    var input: PlanInput
    var distinctSets: Int
    var joiners = 0, leavers = 0, movers = 0
}

func world(_ n: Int) -> World {
    var people: [Person] = []
    var accounts: [Account] = []
    var links: [String: String] = [:]
    people.reserveCapacity(n)
    accounts.reserveCapacity(n)
    var cache: [Int: [GroupMembership]] = [:]
    func groups(_ t: Int) -> [GroupMembership] {
        if let g = cache[t] { return g }
        let g = template(t)
        cache[t] = g
        return g
    }
    let roleIndex = RoleMappingIndex(mappings)
    var resolved: [Int: RoleResolution] = [:]
    func roles(_ t: Int) -> RoleResolution {
        if let r = resolved[t] { return r }
        let r = RoleResolver.resolve(Person(anchor: "", dn: "", groups: groups(t)), index: roleIndex, allowAdminGrants: false)
        resolved[t] = r
        return r
    }
    var w = World(input: PlanInput(people: [], accounts: [], mappings: mappings), distinctSets: 0)
    let brandIds = Dictionary(uniqueKeysWithValues: brandNames.enumerated().map { ($1, "b-\($0)") })
    for i in 0..<n {
        let anchor = "anchor-\(i)"
        let email = "user\(i)@example.com"
        var t = Int((UInt64(i) &* 2654435761) % 12_000)
        // Nobody of this benchmark leaves every mapped group by chance: a template without a mapped group gets the
        // editors group (the churn below is what makes changes).
        if roles(t).global == nil { t = t - t % 5 }
        let held = roles(t)
        let churn = i % 100 == 0  // 1 %: a third join, a third leave, a third move (to another set, another role)
        let joiner = churn && i % 300 == 0, leaver = churn && i % 300 == 100, mover = churn && i % 300 == 200
        var now = t
        if mover {
            now = (t + 1) % 12_000
            while !roles(now).isProvisioned || (roles(now).global == held.global && roles(now).brands == held.brands) {
                now = (now + 1) % 12_000
            }
        }
        people.append(Person(anchor: anchor, dn: "uid=user\(i),ou=people", email: email, fullName: "User \(i)",
                             jobTitle: "Staff", company: "Example", groups: groups(now),
                             leaverEvidence: leaver ? [.accountLock] : [], rules: ["staff"]))
        if joiner { w.joiners += 1; continue }  // joiners have no account yet
        if leaver { w.leavers += 1 }
        if mover { w.movers += 1 }
        var brands: [String: Role] = [:]
        for (name, role) in held.brands { brands[brandIds[name]!] = role }
        accounts.append(Account(id: "m\(i)", email: email, fullName: "User \(i)", jobTitle: "Staff", company: "Example",
                                globalRole: held.global, brands: brands))
        links[anchor] = "m\(i)"
    }
    accounts.append(Account(id: "admin", email: "admin@example.com", globalRole: .admin))
    w.distinctSets = Set(people.map { $0.groups.map(\.dn).joined(separator: "|") }).count
    w.input = PlanInput(people: people, accounts: accounts, links: links,
                        brandNamesById: Dictionary(uniqueKeysWithValues: brandIds.map { ($1, $0) }), mappings: mappings)
    return w
}

var medians: [Double] = []
for n in runSizes {
    let w = world(n)
    var times: [Double] = []
    var plan: Plan?
    for _ in 0..<3 {
        plan = nil
        let start = ContinuousClock.now
        let made = Planner.plan(w.input)
        let d = ContinuousClock.now - start
        times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        plan = made
    }
    let changes = plan!.changes
    let invites = changes.filter { $0.kind == .invite }.count
    let deactivations = changes.filter { $0.kind == .deactivate }.count
    let roleChanges = changes.filter { [.setRole, .setBrands, .update].contains($0.kind) }.count
    guard invites == w.joiners, deactivations == w.leavers, roleChanges == w.movers, changes.count == invites + deactivations + roleChanges else {
        print("diff \(n): WRONG CHANGES: \(invites) invites for \(w.joiners) joiners, \(deactivations) deactivations for "
              + "\(w.leavers) leavers, \(roleChanges) role changes for \(w.movers) movers, \(changes.count) in all")
        exit(1)
    }
    let median = times.sorted()[1]
    medians.append(median)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(String(format: "diff %8d people × accounts: median %.3f s, %d distinct membership sets, %d changes "
                 + "(%d invites, %d deactivations, %d role changes: as made), peak RSS %.0f MiB",
                 n, median, w.distinctSets, changes.count, invites, deactivations, roleChanges,
                 Double(usage.ru_maxrss) / 1024))
}
if medians.count >= 2 {
    let growth = pow(medians.last! / medians.first!, 1 / Double(medians.count - 1))
    print(String(format: "diff %@: %.2f s, growth per 10x: %.1f",
                 runSizes.last! >= 1_000_000 ? "1M" : "\(runSizes.last!)", medians.last!, growth))
}
