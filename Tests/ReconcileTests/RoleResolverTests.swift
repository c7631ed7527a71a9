import Testing
@testable import Reconcile

@Suite struct RoleResolverTests {
    let admins = RoleMapping(group: "cn=admins,dc=x", role: .admin)
    let editors = RoleMapping(group: "cn=editors,dc=x", role: .editor)
    let viewers = RoleMapping(group: "cn=viewers,dc=x", role: .viewer)
    let brandAEditors = RoleMapping(group: "cn=a-editors,dc=x", role: .editor, brand: "Brand A")
    let brandAAdmins = RoleMapping(group: "cn=a-admins,dc=x", role: .admin, brand: "Brand A")
    let brandBViewers = RoleMapping(group: "cn=b-viewers,dc=x", role: .viewer, brand: "Brand B")
    var all: [RoleMapping] { [admins, editors, viewers, brandAEditors, brandAAdmins, brandBViewers] }

    func person(_ groups: String...) -> Person {
        Person(anchor: "a", dn: "uid=a,dc=x", groups: groups.map { GroupMembership(dn: $0) })
    }

    func resolve(_ p: Person, admin: Bool = false) -> RoleResolution {
        RoleResolver.resolve(p, mappings: all, allowAdminGrants: admin)
    }

    @Test func highestGlobalRoleWins() {
        #expect(resolve(person("cn=viewers,dc=x", "cn=editors,dc=x")).global == .editor)
    }

    @Test func adminNeedsAllowAdminGrants() {
        let withheld = resolve(person("cn=admins,dc=x", "cn=viewers,dc=x"))
        #expect(withheld.global == .viewer)
        #expect(withheld.adminWithheld)
        #expect(resolve(person("cn=admins,dc=x"), admin: true).global == .admin)
        #expect(!resolve(person("cn=admins,dc=x"), admin: true).adminWithheld)
    }

    @Test func anAdminAloneIsNotProvisionedWithoutTheSwitch() {
        let r = resolve(person("cn=admins,dc=x"))
        #expect(r.global == nil)
        #expect(r.adminWithheld)
    }

    @Test func brandOnlyPeopleGetTheirHighestBrandRoleCappedAtEditor() {
        let r = resolve(person("cn=a-admins,dc=x", "cn=b-viewers,dc=x"))
        #expect(r.brands == ["Brand A": .admin, "Brand B": .viewer], "brand admin is allowed")
        #expect(r.global == .editor)
        #expect(resolve(person("cn=b-viewers,dc=x")).global == .viewer)
    }

    @Test func perBrandTheHighestMappingWins() {
        #expect(resolve(person("cn=a-editors,dc=x", "cn=a-admins,dc=x")).brands == ["Brand A": .admin])
    }

    @Test func noMappedGroupMeansOutOfScope() {
        #expect(resolve(person("cn=unrelated,dc=x")) == RoleResolution(global: nil))
    }

    @Test func groupsCompareThroughTheNormaliser() {
        #expect(resolve(person("CN=Editors,DC=X")).global == .editor)
    }

    @Test func reasonsNameTheGroupAndItsPath() {
        let p = Person(anchor: "a", dn: "uid=a,dc=x",
                       groups: [GroupMembership(dn: "cn=a-editors,dc=x", via: ["cn=leads,dc=x"])])
        #expect(resolve(p).reasons == [
            "member of cn=a-editors,dc=x (via cn=leads,dc=x) → editor for Brand A",
            "no global mapping: global role from the brands, capped at editor → editor",
        ])
    }
}
