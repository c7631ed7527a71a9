import Testing
@testable import Reconcile

@Suite struct RoleTests {
    @Test(arguments: [
        ("Administrator", Role.admin), ("administrator", .admin), ("admin", .admin),
        ("Editor", .editor), ("Manager", .editor), ("Creator", .editor), ("Contributor", .editor),
        ("Reviewer", .editor), ("View Only", .viewer), ("view only", .viewer), ("viewer", .viewer),
    ])
    func seedNamesMapToMixerRoles(name: String, role: Role) {
        #expect(Role(configName: name) == role)
    }

    @Test func unknownRoleNamesAreRejected() {
        #expect(Role(configName: "Owner") == nil)
        #expect(Role(configName: "ViewOnly") == nil)
        #expect(Role(configName: "") == nil)
    }

    @Test func rolesOrderByPrivilege() {
        #expect(Role.viewer < .editor)
        #expect(Role.editor < .admin)
        #expect([Role.editor, .admin, .viewer].max() == .admin)
    }
}

@Suite struct EmailAddressTests {
    @Test func trimsAndLowercases() {
        #expect(EmailAddress.normalize("  Ann.Lee@Example.COM \n") == "ann.lee@example.com")
    }

    @Test func composesToNFC() {
        // "e" + COMBINING DIAERESIS and the precomposed "ë" are one address.
        #expect(EmailAddress.normalize("Zoe\u{0308}@example.com") == EmailAddress.normalize("zo\u{00EB}@example.com"))
        #expect(EmailAddress.normalize("Zoe\u{0308}@example.com") == "zo\u{00EB}@example.com")
    }

    @Test func emptyIsNoEmail() {
        #expect(EmailAddress.normalize("   ") == nil)
        #expect(EmailAddress.normalize("") == nil)
    }
}

@Suite struct PersonTests {
    @Test func leaverMeansAnyEvidence() {
        #expect(Person(anchor: "a", dn: "uid=a").isLeaver == false)
        #expect(Person(anchor: "a", dn: "uid=a", leaverEvidence: [.accountLock]).isLeaver)
    }
}
