import Directory
import LDAPClient
import Testing

/// What the change feed watches: one subtree under the deepest DN holding every base read, for any entry a user
/// rule or the group filter matches.
@Suite struct FeedScopeTests {
    func settings(users: [String], groups: String?, leavers: String? = nil) -> DirectorySettings {
        DirectorySettings(urls: ["ldap://127.0.0.1"],
                          users: users.enumerated().map { UserRule(name: "r\($0.offset)", base: $0.element, filter: "(objectClass=inetOrgPerson)") },
                          groups: groups.map { GroupSettings(base: $0) }, leavers: LeaverSettings(leaversBase: leavers))
    }

    @Test func theDeepestCommonSuffixOfEveryBase() {
        #expect(settings(users: ["ou=people,dc=example,dc=com"], groups: "ou=groups,dc=example,dc=com").feedScope.base
                == "dc=example,dc=com")
        #expect(settings(users: ["ou=a,ou=people,dc=example,dc=com", "ou=b,ou=people,dc=example,dc=com"], groups: nil).feedScope.base
                == "ou=people,dc=example,dc=com")
        #expect(settings(users: ["ou=people,DC=Example,dc=com"], groups: "ou=groups,dc=example,dc=com",
                         leavers: "ou=leavers,ou=people,dc=example,dc=com").feedScope.base.lowercased() == "dc=example,dc=com")
        #expect(settings(users: ["ou=people,dc=example,dc=com"], groups: nil).feedScope.base == "ou=people,dc=example,dc=com")
        #expect(settings(users: ["ou=people,dc=a,dc=com"], groups: "ou=groups,dc=b,dc=org").feedScope.base == "",
                "nothing shared: no feed")
    }

    @Test func theFilterIsAnyUserRuleOrTheGroupFilter() {
        let scope = settings(users: ["ou=people,dc=example,dc=com"], groups: "ou=groups,dc=example,dc=com").feedScope
        #expect(scope.filter.contains("(objectClass=inetOrgPerson)"))
        #expect(scope.filter.hasPrefix("(|"))
        #expect(scope.filter.lowercased().contains("groupofnames"), "\(scope.filter)")
    }
}
