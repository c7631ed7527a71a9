import Foundation
import Reconcile

// diff-bench: the diff engine alone on N people × N accounts with 1 % churn (joiners, leavers, movers),
// median of 3 runs per size; prints figures, then `diff 1M: X.XX s, growth per 10x: Y.Y`.
// usage: diff-bench [SIZES…]   (default 10000 100000 1000000)

let sizes = CommandLine.arguments.dropFirst().compactMap(Int.init)
let runSizes = sizes.isEmpty ? [10_000, 100_000, 1_000_000] : sizes
let mappings = [RoleMapping(group: "cn=editors,ou=groups", role: .editor),
                RoleMapping(group: "cn=viewers,ou=groups", role: .viewer),
                RoleMapping(group: "cn=brand-a,ou=groups", role: .editor, brand: "Brand A")]

func world(_ n: Int) -> PlanInput {
    var people: [Person] = []
    var accounts: [Account] = []
    var links: [String: String] = [:]
    people.reserveCapacity(n)
    accounts.reserveCapacity(n)
    // The directory reader hands people with the same memberships one shared array (GroupIndex's cache): so here.
    let staff = ["cn=editors,ou=groups", "cn=brand-a,ou=groups"].map { GroupMembership(dn: $0) }
    let viewers = [GroupMembership(dn: "cn=viewers,ou=groups")]
    for i in 0..<n {
        let anchor = "anchor-\(i)"
        let email = "user\(i)@example.com"
        let churn = i % 100 == 0  // 1 %: a third join, a third leave, a third move
        let groups = churn && i % 300 == 200 ? viewers : staff
        let leaver = churn && i % 300 == 100
        do {
            people.append(Person(anchor: anchor, dn: "uid=user\(i),ou=people", email: email, fullName: "User \(i)",
                                 jobTitle: "Staff", company: "Example", groups: groups,
                                 leaverEvidence: leaver ? [.accountLock] : [], rules: ["staff"]))
        }
        if !(churn && i % 300 == 0) {  // joiners have no account yet
            accounts.append(Account(id: "m\(i)", email: email, fullName: "User \(i)", jobTitle: "Staff", company: "Example",
                                    globalRole: .editor, brands: ["b-a": .editor]))
            links[anchor] = "m\(i)"
        }
    }
    accounts.append(Account(id: "admin", email: "admin@example.com", globalRole: .admin))
    return PlanInput(people: people, accounts: accounts, links: links, brandNamesById: ["b-a": "Brand A"], mappings: mappings)
}

var medians: [Double] = []
for n in runSizes {
    let input = world(n)
    var times: [Double] = []
    var changes = 0
    for _ in 0..<3 {
        let start = ContinuousClock.now
        let plan = Planner.plan(input)
        let d = ContinuousClock.now - start
        times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        changes = plan.changes.count
    }
    let median = times.sorted()[1]
    medians.append(median)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(String(format: "diff %8d people × accounts: median %.3f s, %d changes, peak RSS %.0f MiB",
                 n, median, changes, Double(usage.ru_maxrss) / 1024))
}
if medians.count >= 2 {
    let growth = pow(medians.last! / medians.first!, 1 / Double(medians.count - 1))
    print(String(format: "diff %@: %.2f s, growth per 10x: %.1f",
                 runSizes.last! >= 1_000_000 ? "1M" : "\(runSizes.last!)", medians.last!, growth))
}
