import Foundation
import Testing
@testable import Reconcile

@Suite struct AuditExplainTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let day = 86400.0

    @Test func theAuditListsAdminsUnlinkedStaleInvitesIdleUsersAndDrift() {
        let accounts = [
            Account(id: "1", email: "boss@x.com", globalRole: .admin, lastSignInAt: now),
            Account(id: "2", email: "old-invite@x.com", pending: true, createdAt: now.addingTimeInterval(-20 * day)),
            Account(id: "3", email: "new-invite@x.com", pending: true, createdAt: now.addingTimeInterval(-2 * day)),
            Account(id: "4", email: "idle@x.com", lastSignInAt: now.addingTimeInterval(-100 * day)),
            Account(id: "5", email: "gone-admin@x.com", globalRole: .admin, active: false),
        ]
        let drift = Change(kind: .setRole, anchor: "a", email: "drift@x.com", dn: nil, mixerUserId: "6",
                           from: AccountState(role: .viewer), to: AccountState(role: .editor), reasons: ["r"])
        let plan = Plan(changes: [drift], conflicts: [], manualActions: [], unlinked: ["4"])
        let audit = Audit.compute(accounts: accounts, plan: plan, policy: Policy(), now: now)
        #expect(audit.admins == ["boss@x.com"])
        #expect(audit.unlinked == ["idle@x.com"])
        #expect(audit.pendingInvitesOverDays == ["old-invite@x.com"])
        #expect(audit.inactiveOverDays == ["idle@x.com"])
        #expect(audit.roleDrift == ["drift@x.com"])
        #expect(audit.deactivationDoesNotRevoke)
        #expect(audit.notRevoked.contains { $0.contains("can still sign in") })
    }

    @Test func explainGivesTheChainFromEntryToDecision() throws {
        let person = Person(anchor: "a1", dn: "uid=ann,ou=people", email: "ann@x.com", fullName: "Ann",
                            groups: [GroupMembership(dn: "cn=a-editors", via: ["cn=leads"])], rules: ["staff"])
        let input = PlanInput(people: [person], accounts: [], brandNamesById: ["b": "Brand A"],
                              mappings: [RoleMapping(group: "cn=a-editors", role: .editor, brand: "Brand A")])
        let plan = Planner.plan(input)
        let lines = try #require(Explainer.explain("ANN@x.com", input: input, plan: plan))
        let text = lines.joined(separator: "\n")
        #expect(text.contains("directory: uid=ann,ou=people"))
        #expect(text.contains("member of cn=a-editors via cn=leads"))
        #expect(text.contains("→ editor for Brand A"))
        #expect(text.contains("decision: invite"))
        #expect(Explainer.explain("a1", input: input, plan: plan) == lines)
        #expect(Explainer.explain("nobody@x.com", input: input, plan: plan) == nil)
    }

    @Test func deletionOnlyAfterDeleteAfterDaysForAccountsMixerSyncOffboarded() {
        var policy = Policy()
        policy.deleteAfterDays = 30
        let gone = Account(id: "m1", email: "gone@x.com", globalRole: .viewer, active: false)
        let input = { (at: Date) in
            PlanInput(people: [Person(anchor: "x", dn: "uid=x", email: "x@x.com")], accounts: [gone], links: ["a1": "m1"],
                      mappings: [], policy: policy, offboardedAt: ["m1": at], now: self.now)
        }
        #expect(Planner.plan(input(now.addingTimeInterval(-31 * day))).changes.map(\.kind) == [.delete])
        #expect(Planner.plan(input(now.addingTimeInterval(-29 * day))).changes.isEmpty)
        policy.deleteAfterDays = 0
        #expect(Planner.plan(input(now.addingTimeInterval(-400 * day))).changes.isEmpty, "0 = never delete")
    }

    @Test func anAppMetadataAdminTheAPICannotDemoteIsAManualAction() {
        let person = Person(anchor: "a1", dn: "uid=a", email: "a@x.com", groups: [GroupMembership(dn: "cn=editors")])
        let account = Account(id: "m1", email: "a@x.com", globalRole: .editor, appAdmin: true)
        let plan = Planner.plan(PlanInput(people: [person], accounts: [account], links: ["a1": "m1"],
                                          mappings: [RoleMapping(group: "cn=editors", role: .editor)]))
        #expect(plan.manualActions.map(\.kind) == [.appMetadataAdmin])
    }

    @Test func aMissingRoleGroupHoldsOnlyPlansThatTakeAccessAway() {
        let restricting = Gates.evaluate(GateInput(inScopePeople: 10, plannedDeactivations: 1, managedActiveAccounts: 100,
                                                   missingRoleGroups: ["cn=gone"]), policy: Policy())
        #expect(restricting.first { $0.name == "role_groups" }?.verdict == .hold)
        let granting = Gates.evaluate(GateInput(inScopePeople: 10, missingRoleGroups: ["cn=gone"]), policy: Policy())
        #expect(granting.first { $0.name == "role_groups" }?.verdict == .pass)
    }
}
