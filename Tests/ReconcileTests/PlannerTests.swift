import Testing
@testable import Reconcile

@Suite struct PlannerTests {
    let mappings = [RoleMapping(group: "cn=editors", role: .editor), RoleMapping(group: "cn=admins", role: .admin),
                    RoleMapping(group: "cn=a-editors", role: .editor, brand: "Brand A")]
    let brands = ["b-a": "Brand A", "b-b": "Brand B"]

    func person(_ anchor: String, _ email: String, groups: [String] = ["cn=editors", "cn=a-editors"],
                leaver: [LeaverEvidence] = [], name: String = "Ann Lee") -> Person {
        Person(anchor: anchor, dn: "uid=\(anchor)", email: email, fullName: name, jobTitle: "Writer", company: "Ex",
               groups: groups.map { GroupMembership(dn: $0) }, leaverEvidence: leaver, rules: ["staff"])
    }

    func account(_ id: String, _ email: String, role: Role? = .editor, brands: [String: Role] = ["b-a": .editor],
                 active: Bool = true, pending: Bool = false, name: String = "Ann Lee") -> Account {
        Account(id: id, email: email, fullName: name, jobTitle: "Writer", company: "Ex", globalRole: role, brands: brands,
                active: active, pending: pending)
    }

    func plan(_ people: [Person], _ accounts: [Account], links: [String: String] = [:], policy: Policy = Policy(),
              pending: [String: AccountState] = [:], ledger: [String: AccountState] = [:]) -> Plan {
        Planner.plan(PlanInput(people: people, accounts: accounts, links: links, brandNamesById: brands, mappings: mappings,
                               policy: policy, serviceAccountEmail: "svc@x.com", pendingGrants: pending, ledger: ledger))
    }

    func kinds(_ p: Plan) -> [String] { p.changes.map { "\($0.kind.rawValue) \($0.anchor ?? $0.mixerUserId ?? "?")" } }

    let admin = Account(id: "m0", email: "boss@x.com", globalRole: .admin)

    @Test func inSyncMeansNoChange() {
        #expect(kinds(plan([person("a1", "ann@x.com")], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])) == [])
    }

    @Test func aJoinerIsInvitedWithTheLeastRole() {
        let p = plan([person("a1", "ann@x.com")], [admin])
        #expect(kinds(p) == ["invite a1"])
        #expect(p.changes[0].to == AccountState(active: true, role: .editor, brands: ["Brand A": .editor],
                                                fullName: "Ann Lee", jobTitle: "Writer", company: "Ex"))
    }

    @Test func aLeaverIsDeactivatedAndStripped() {
        let p = plan([person("a1", "ann@x.com", leaver: [.accountLock])], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])
        #expect(kinds(p) == ["deactivate a1"])
        #expect(p.changes[0].to == .offboarded)
        #expect(p.changes[0].reasons.contains("leaver evidence: account_lock"))
    }

    @Test func explicitEvidenceAppliesToEmailMatchesToo() {
        #expect(kinds(plan([person("a1", "ann@x.com", leaver: [.disabledFilter])], [account("m1", "ann@x.com"), admin]))
                == ["deactivate a1"])
    }

    @Test func anEmptySnapshotNeverDeactivatesByAbsence() {
        #expect(kinds(plan([], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])) == [])
    }

    @Test func absenceIsEvidenceOnlyForLinkedPeople() {
        let other = person("a2", "ben@x.com")
        #expect(kinds(plan([other], [account("m1", "ann@x.com"), account("m2", "ben@x.com"), admin],
                           links: ["a1": "m1", "a2": "m2"])) == ["deactivate a1"])
        let unlinked = plan([other], [account("m1", "ann@x.com"), account("m2", "ben@x.com"), admin], links: ["a2": "m2"])
        #expect(kinds(unlinked) == [])
        #expect(unlinked.unlinked == ["m0", "m1"])
    }

    @Test func unlinkedAccountsAreDeactivatedOnlyWhenThePolicySaysSo() {
        var policy = Policy()
        policy.unlinked = .deactivate
        let other = person("a2", "ben@x.com")
        #expect(kinds(plan([other], [account("m1", "ann@x.com"), account("m2", "ben@x.com"), admin], links: ["a2": "m2"],
                           policy: policy)) == ["deactivate m1"])
    }

    @Test func leavingEveryMappedGroupOffboardsALinkedAccount() {
        let p = plan([person("a1", "ann@x.com", groups: [])], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])
        #expect(kinds(p) == ["deactivate a1"])
        #expect(p.changes[0].reasons.contains("left every mapped group"))
    }

    @Test func anOutOfScopePersonMatchedByEmailIsLeftAlone() {
        #expect(kinds(plan([person("a1", "ann@x.com", groups: [])], [account("m1", "ann@x.com"), admin])) == [])
    }

    @Test func aMoverGetsOneChangeWithTheFullState() {
        let p = plan([person("a1", "ann@x.com", groups: ["cn=editors"])], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])
        #expect(kinds(p) == ["set_brands a1"])
        #expect(p.changes[0].to.brands == [:])
        #expect(p.changes[0].to.fullName == "Ann Lee")
    }

    @Test func aRenameIsAManualActionNeverALeavePlusJoin() {
        let p = plan([person("a1", "ann.smith@x.com")], [account("m1", "ann@x.com"), admin], links: ["a1": "m1"])
        #expect(kinds(p) == [])
        #expect(p.manualActions == [ManualAction(kind: .emailChange, email: "ann@x.com", newEmail: "ann.smith@x.com",
                                                 reason: "MixerAI cannot change an email; the account is kept (anchor a1)")])
    }

    @Test func adminGrantsWaitForAHuman() {
        let p = plan([person("a1", "ann@x.com", groups: ["cn=admins", "cn=a-editors"])], [admin])
        #expect(p.changes.first?.to.role == .editor)
        #expect(p.manualActions.map(\.kind) == [.adminGrant])
    }

    @Test func theLastAdminIsNeverDeactivated() {
        let p = plan([person("a9", "boss@x.com", leaver: [.accountLock])], [admin], links: ["a9": "m0"])
        #expect(kinds(p) == [])
        #expect(p.manualActions.map(\.kind) == [.lastAdmin])
    }

    @Test func protectedAndServiceAccountsAreNeverTouched() {
        var policy = Policy()
        policy.protected = ["BreakGlass@x.com"]
        policy.unlinked = .deactivate
        let p = plan([person("a1", "breakglass@x.com", leaver: [.accountLock])],
                     [account("m1", "breakglass@x.com"), account("m2", "svc@x.com"), admin], policy: policy)
        #expect(kinds(p) == [], "the break-glass and service accounts are skipped; the last admin is protected")
        #expect(p.manualActions.map(\.kind) == [.lastAdmin])
    }

    @Test func aPendingInviteIsComparedWithWhatItWillGrant() {
        let pendingAccount = account("m1", "ann@x.com", role: nil, brands: [:], pending: true)
        let grant = AccountState(role: .editor, brands: ["Brand A": .editor])
        #expect(kinds(plan([person("a1", "ann@x.com")], [pendingAccount, admin], links: ["a1": "m1"], pending: ["m1": grant])) == [])
    }

    @Test func aReturningPersonIsReactivated() {
        let p = plan([person("a1", "ann@x.com")], [account("m1", "ann@x.com", role: .viewer, brands: [:], active: false), admin],
                     links: ["a1": "m1"])
        #expect(kinds(p) == ["reactivate a1"])
        #expect(p.changes[0].to.role == .editor)
        var restore = Policy()
        restore.reactivation = .restore
        let r = plan([person("a1", "ann@x.com")], [account("m1", "ann@x.com", role: .viewer, brands: [:], active: false), admin],
                     links: ["a1": "m1"], policy: restore, ledger: ["m1": AccountState(role: .viewer, brands: ["Brand A": .viewer])])
        #expect(r.changes[0].to.brands == ["Brand A": .viewer])
    }

    @Test func conflictsBlockEveryAction() {
        let p = plan([person("a1", "dup@x.com", leaver: [.accountLock]), person("a2", "dup@x.com")],
                     [account("m1", "dup@x.com"), admin])
        #expect(kinds(p) == [])
        #expect(p.conflicts.count == 1)
        #expect(p.unlinked == ["m0"])
    }

    @Test func unknownBrandsAreReportedNotInvented() {
        let m = [RoleMapping(group: "cn=editors", role: .editor), RoleMapping(group: "cn=z", role: .editor, brand: "Brand Z")]
        let p = Planner.plan(PlanInput(people: [person("a1", "ann@x.com", groups: ["cn=editors", "cn=z"])], accounts: [admin],
                                       brandNamesById: brands, mappings: m))
        #expect(p.changes.first?.to.brands == [:])
        #expect(p.manualActions.map(\.kind).contains(.unknownBrand))
    }

    @Test func countsForTheGates() {
        let p = plan([person("a1", "ann@x.com", leaver: [.accountLock]), person("a2", "ben@x.com", groups: ["cn=a-editors"])],
                     [account("m1", "ann@x.com"), account("m2", "ben@x.com", role: .admin), admin], links: ["a1": "m1", "a2": "m2"])
        #expect(p.deactivations == 1)
        #expect(p.downgrades == 1, "admin → editor for the mover; the offboarding counts as a deactivation")
    }

    @Test func theManagedActiveBaseIsLinkedOrEmailMatchedActiveAccounts() {
        let p = plan([person("a1", "ann@x.com"), person("a2", "ben@x.com")],
                     [account("m1", "ann@x.com"), account("m2", "other@x.com"), account("m3", "ben@x.com"),
                      account("m4", "nobody@x.com"), account("m5", "gone@x.com", active: false), admin],
                     links: ["a1": "m1", "zz": "m2", "yy": "m5"])
        #expect(p.managedActiveAccounts == 3, "m1 and m2 linked, m3 matched by email; m4 unrelated, m5 inactive")
    }
}
