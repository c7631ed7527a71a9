import Testing
@testable import Reconcile

/// Invariants over many generated worlds (a seeded generator: the same seeds give the same worlds).
@Suite struct PlannerInvariantTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static let groups = ["cn=editors", "cn=admins", "cn=viewers", "cn=a-editors", "cn=b-admins", "cn=other"]
    static let mappings = [RoleMapping(group: "cn=editors", role: .editor), RoleMapping(group: "cn=admins", role: .admin),
                           RoleMapping(group: "cn=viewers", role: .viewer),
                           RoleMapping(group: "cn=a-editors", role: .editor, brand: "Brand A"),
                           RoleMapping(group: "cn=b-admins", role: .admin, brand: "Brand B")]

    static func world(seed: UInt64) -> PlanInput {
        var g = Generator(state: seed)
        let roles: [Role?] = [nil, .viewer, .editor, .admin]
        var people: [Person] = []
        var accounts: [Account] = []
        var links: [String: String] = [:]
        for i in 0..<40 {
            let email = "u\(g.next(45))@x.com"
            if g.next(3) > 0 {
                let groups = (0..<g.next(3)).map { _ in Self.groups[g.next(Self.groups.count)] }
                let evidence: [LeaverEvidence] = g.next(6) == 0 ? [.accountLock] : []
                people.append(Person(anchor: "a\(i)", dn: "uid=a\(i)", email: email, fullName: "P \(i)",
                                     groups: groups.map { GroupMembership(dn: $0) }, leaverEvidence: evidence))
            }
            if g.next(2) == 0 {
                accounts.append(Account(id: "m\(i)", email: g.next(4) == 0 ? "u\(g.next(45))@x.com" : email,
                                        fullName: "P \(i)", globalRole: roles[g.next(4)], brands: g.next(2) == 0 ? ["b-a": .editor] : [:],
                                        active: g.next(5) > 0, pending: g.next(4) == 0))
                if g.next(2) == 0 { links["a\(i)"] = "m\(i)" }
            }
        }
        var policy = Policy()
        policy.allowAdminGrants = g.next(2) == 0
        policy.unlinked = g.next(2) == 0 ? .report : .deactivate
        policy.protected = ["u1@x.com", "u2@x.com"]
        return PlanInput(people: people, accounts: accounts, links: links, brandNamesById: ["b-a": "Brand A", "b-b": "Brand B"],
                         mappings: Self.mappings, policy: policy, serviceAccountEmail: "u3@x.com")
    }

    @Test(arguments: 0..<300)
    func invariantsHold(seed: Int) {
        let input = Self.world(seed: UInt64(seed) &* 7919 &+ 17)
        let plan = Planner.plan(input)
        let again = Planner.plan(input)
        #expect(plan == again, "the same inputs always give the same plan")
        let invited = Set(plan.changes.filter { $0.kind == .invite }.compactMap(\.anchor))
        let deactivated = Set(plan.changes.filter { $0.kind == .deactivate }.compactMap(\.anchor))
        #expect(invited.isDisjoint(with: deactivated), "no person is both invited and deactivated")
        let untouchable: Set<String> = ["u1@x.com", "u2@x.com", "u3@x.com"]
        #expect(!plan.changes.contains { untouchable.contains($0.email ?? "") }, "protected and service accounts are never touched")
        let adminsBefore = input.accounts.filter { $0.active && $0.globalRole == .admin }.count
        let lost = plan.changes.filter { $0.from.role == .admin && $0.from.active != false
            && !($0.to.role == .admin && $0.to.active != false) }.count
        #expect(adminsBefore - lost >= min(adminsBefore, input.policy.minAdmins), "never below min_admins")
        for change in plan.changes where change.kind == .deactivate {
            #expect(change.to == .offboarded)
        }
        #expect(plan.changes.allSatisfy { !$0.reasons.isEmpty }, "every change says why")
        let blocked = Matcher.match(people: input.people, accounts: input.accounts, links: input.links).blocked
        #expect(plan.changes.allSatisfy { $0.anchor.map { !blocked.contains($0) } ?? true }, "conflicts block every action")
    }
}
