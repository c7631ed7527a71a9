import Directory
import Foundation
import LDAPClient
import Reconcile
import Testing

/// Reading the real test slapd: completeness, paging, groups, leavers, and data problems.
@Suite struct SnapshotTests {
    @Test func readsEveryPersonAcrossManyPages() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings(pageSize: 100))
        let expected = try TestDirectory.users + TestDirectory.specialPeople + TestDirectory.leaverEntries
        #expect(snapshot.people.count == expected)
        #expect(snapshot.proof.entries == expected)
        #expect(Set(snapshot.people.map(\.anchor)).count == expected, "anchors are unique")
        let staff = try #require(snapshot.proof.searches.first { $0.name == "staff" })
        let inPeople = try TestDirectory.users + TestDirectory.specialPeople
        #expect(staff.entries == inPeople)
        #expect(staff.pages == (inPeople + 99) / 100)
        #expect(snapshot.proof.searches.map(\.name) == ["groups", "disabled:staff", "disabled:leavers_base", "staff", "leavers_base"])
        #expect(snapshot.proof.server == (try TestDirectory.ldapURL))
    }

    @Test func mapsAttributesAndNormalisesEmails() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings())
        let ann = try #require(snapshot.person(uid: "user00001"))
        #expect(ann.email == "user00001@example.com")
        #expect(ann.fullName == "Ben Lee")
        #expect(ann.givenName == "Ben")
        #expect(ann.surname == "Lee")
        #expect(ann.jobTitle == "Designer")
        #expect(ann.company == "Example Ltd")
        #expect(ann.department == "Marketing")
        #expect(ann.anchor.count == 36, "entryUUID as text")
        #expect(ann.rules == ["staff"])
    }

    @Test func expandsNestedGroupsAndSurvivesACycle() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings())
        let g = TestDirectory.groups
        let lead = try #require(snapshot.person(uid: "user00010"))
        #expect(lead.groups.contains(GroupMembership(dn: "cn=content-leads,\(g)")))
        #expect(lead.groups.contains(GroupMembership(dn: "cn=brand-a-editors,\(g)", via: ["cn=content-leads,\(g)"])))
        #expect(lead.groups.contains(GroupMembership(dn: "cn=all-editors,\(g)",
                                                     via: ["cn=content-leads,\(g)", "cn=brand-a-editors,\(g)"])))
        let cyclic = try #require(snapshot.person(uid: "user00030"))
        #expect(cyclic.groups.map(\.dn).sorted() == ["cn=all-staff,\(g)", "cn=cycle-a,\(g)", "cn=cycle-b,\(g)"])
        #expect(cyclic.groups.first { $0.dn == "cn=cycle-b,\(g)" }?.via == ["cn=cycle-a,\(g)"])
        let reviewer = try #require(snapshot.person(uid: "user00041"))
        #expect(reviewer.groups.map(\.dn).contains("cn=reviewers,\(g)"), "uniqueMember with an optional UID")
        let viewer = try #require(snapshot.person(uid: "user00050"))
        #expect(viewer.groups.map(\.dn).contains("cn=viewers,\(g)"), "posixGroup memberUid")
        let plain = try #require(snapshot.person(uid: "user00100"))
        #expect(plain.groups == [GroupMembership(dn: "cn=all-staff,\(g)")])
    }

    @Test func groupNamesFullOfMetacharactersMatchOnlyTheirOwnMembers() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings())
        let g = TestDirectory.groups
        let star = "cn=*)(uid=*,\(g)"
        let rdEurope = "cn=R&D (Europe) \\5C,\(g)"
        let rdComma = "cn=R&D\\2C Europe (*)\\5C,\(g)"
        func members(_ dn: String) -> [String] {
            snapshot.people.filter { $0.groups.contains { DistinguishedName.normalize($0.dn) == DistinguishedName.normalize(dn) } }
                .compactMap(\.uid)
        }
        #expect(members(star) == ["user00060"])
        #expect(members(rdEurope) == ["user00061"])
        #expect(members(rdComma) == ["user00062"])
        #expect(members("cn=smith-group,\(g)") == ["jsmith"], "member DN written with other escapes and case")
    }

    @Test func escapedValuesMatchExactlyOnTheServer() async throws {
        let settings = try TestDirectory.settings()
        let options = try ConnectionOptions(urls: [TestDirectory.ldapURL],
                                            bind: .simple(dn: TestDirectory.serviceDN,
                                                          password: LDAPPassword(Array("mixer-sync-test-password".utf8))))
        let result: [String: [String]] = try await LDAPWorker().run {
            let connection = try LDAPConnection(options)
            var found: [String: [String]] = [:]
            func search(_ key: String, base: String, scope: SearchScope, filter: String) throws {
                var dns: [String] = []
                _ = try connection.search(SearchRequest(base: base, scope: scope, filter: filter, attributes: []),
                                          pageSize: 100, deadline: .now + .seconds(10)) { dns.append($0.dn) }
                found[key] = dns
            }
            try search("star", base: TestDirectory.groups, scope: .sub, filter: LDAPFilter.equality("cn", "*)(uid=*"))
            try search("comma", base: TestDirectory.groups, scope: .sub,
                       filter: LDAPFilter.equality("cn", "R&D, Europe (*)\\"))
            try search("member", base: TestDirectory.groups, scope: .sub,
                       filter: LDAPFilter.equality("member", TestDirectory.userDN(60)))
            try search("byDN", base: DistinguishedName.child(type: "cn", value: "R&D, Europe (*)\\", of: TestDirectory.groups),
                       scope: .base, filter: "(objectClass=*)")
            try search("unescapedWildcard", base: TestDirectory.groups, scope: .sub, filter: "(cn=*)")
            return found
        }
        _ = settings
        #expect(result["star"]?.count == 1)
        #expect(result["comma"]?.count == 1)
        #expect(result["member"]?.count == 2, "the odd group and all-staff")
        #expect(result["byDN"]?.count == 1)
        #expect((result["unescapedWildcard"]?.count ?? 0) > 10, "the same value unescaped is a wildcard")
    }

    @Test func everyKindOfLeaverEvidence() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings())
        func evidence(_ uid: String) -> [LeaverEvidence]? { snapshot.person(uid: uid)?.leaverEvidence }
        #expect(evidence("term01") == [.disabledFilter])
        #expect(evidence("locked01") == [.accountLock])
        #expect(evidence("nslock01") == [.accountLock])
        #expect(evidence("uac01") == [.accountLock])
        #expect(evidence("expired01") == [.accountLock])
        #expect(evidence("neverexp01") == [])
        #expect(evidence("gone01") == [.leaversBase])
        #expect(evidence("user00001") == [])
        #expect(snapshot.people.filter(\.isLeaver).count == 8)
        #expect(snapshot.person(uid: "gone01")?.rules == ["leavers_base"])
    }

    @Test func duplicateAndMissingEmailsAreReported() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings())
        let p = TestDirectory.people
        #expect(snapshot.problems.contains(.duplicateEmail(email: "dup@example.com", dns: ["uid=dup-a,\(p)", "uid=dup-b,\(p)"])))
        #expect(snapshot.problems.contains(.missingEmail(dn: "uid=nomail01,\(p)")))
        #expect(snapshot.person(uid: "dup-a")?.email == "dup@example.com")
        #expect(snapshot.person(uid: "dup-b")?.email == "dup@example.com")
    }

    @Test func startTLSAndLDAPSGiveTheSameSnapshot() async throws {
        let plain = try await TestDirectory.read(TestDirectory.settings())
        let startTLS = try await TestDirectory.read(TestDirectory.settings(startTLS: true, caFile: TestDirectory.ca))
        let ldaps = try await TestDirectory.read(TestDirectory.settings(url: TestDirectory.ldapsURL, caFile: TestDirectory.ca))
        #expect(startTLS.people == plain.people)
        #expect(ldaps.people == plain.people)
        #expect(ldaps.proof.server.hasPrefix("ldaps://"))
    }

    @Test func saslExternalOverLDAPI() async throws {
        let snapshot = try await TestDirectory.read(TestDirectory.settings(url: TestDirectory.ldapiURL, bindMethod: .saslExternal))
        #expect(snapshot.people.count == (try TestDirectory.users + TestDirectory.specialPeople + TestDirectory.leaverEntries))
    }
}

@Suite struct FailoverTests {
    @Test func anUnreachableFirstServerFailsOverToTheNext() async throws {
        let dead = try BlackHole()
        let port = dead.port
        dead.close()
        var settings = try TestDirectory.settings()
        settings.urls = ["ldap://127.0.0.1:\(port)", try TestDirectory.ldapURL]
        let snapshot = try await TestDirectory.read(settings)
        #expect(snapshot.proof.server == (try TestDirectory.ldapURL))
        #expect(snapshot.people.count == (try TestDirectory.users + TestDirectory.specialPeople + TestDirectory.leaverEntries))
    }

    @Test func aBindRefusalDoesNotFailOver() async throws {
        var settings = try TestDirectory.settings(passwordFile: TestDirectory.dir + "/wrong-password")
        settings.urls = [try TestDirectory.ldapURL, try TestDirectory.ldapURL]
        let failure = try #require(await TestDirectory.failure(settings))
        #expect(failure.message.contains("invalidCredentials"))
    }
}
