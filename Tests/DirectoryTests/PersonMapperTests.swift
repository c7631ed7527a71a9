import LDAPClient
import Reconcile
import Testing
@testable import Directory

/// Calls `body` with a raw entry whose values are views into one buffer that lives for the call.
func withRawEntry<T>(_ dn: String, _ attributes: [String: [LDAPValue]], attributeNames: [String],
                     _ body: (LDAPRawEntry) -> T) -> T {
    let total = attributes.values.joined().reduce(0) { $0 + $1.rawBytes.count }
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Swift.max(total, 1))
    defer { buffer.deallocate() }
    var views = [[UnsafeBufferPointer<UInt8>]](repeating: [], count: attributeNames.count)
    var offset = 0
    for (name, values) in attributes {
        let slot = attributeNames.firstIndex { $0.lowercased() == name.lowercased() }!
        for value in values {
            let bytes = value.rawBytes
            _ = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).initialize(from: bytes)
            views[slot].append(UnsafeBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]))
            offset += bytes.count
        }
    }
    return body(LDAPRawEntry(dn: dn, values: views))
}

@Suite struct PersonMapperTests {
    // 2026-11-29T00:00:00Z
    let now: Int64 = 1_795_910_400
    var mapper: PersonMapper { PersonMapper(map: .defaults(for: .openldap), accountLock: true, nowUnixSeconds: now) }

    /// Builds a raw entry (values viewed in one buffer that lives for the call) and maps it.
    func mapped(_ dn: String, _ attributes: [String: [LDAPValue]], with m: PersonMapper? = nil) -> PersonMapper.Outcome {
        let m = m ?? mapper
        return withRawEntry(dn, attributes, attributeNames: m.attributes.map(\.name)) { m.map($0, rules: ["staff"]) }
    }

    func person(_ attributes: [String: [LDAPValue]]) -> Person? {
        if case .person(let p, _) = mapped("uid=x,ou=people,dc=example,dc=com", attributes) { return p }
        return nil
    }

    @Test func mapsTheConfiguredAttributes() {
        let p = person(["entryUUID": [.text("u-1")], "mail": [.text(" Ann@Example.com ")], "givenName": [.text("Ann")],
                        "sn": [.text("Lee")], "cn": [.text("Ann Lee")], "title": [.text("Writer")],
                        "o": [.text("Example")], "departmentNumber": [.text("Content")], "uid": [.text("ann")]])
        #expect(p == Person(anchor: "u-1", dn: "uid=x,ou=people,dc=example,dc=com", email: "ann@example.com",
                            givenName: "Ann", surname: "Lee", fullName: "Ann Lee", jobTitle: "Writer",
                            company: "Example", department: "Content", uid: "ann", rules: ["staff"]))
    }

    @Test func fullNameFallsBackToGivenNameAndSurname() {
        let p = person(["entryUUID": [.text("u-1")], "givenName": [.text("Ann")], "sn": [.text("Lee")]])
        #expect(p?.fullName == "Ann Lee")
    }

    @Test func missingEmailIsAProblemNotAGuess() {
        guard case .person(let p, let problems) = mapped("uid=x", ["entryUUID": [.text("u")]]) else {
            Issue.record("no person"); return
        }
        #expect(p.email == nil)
        #expect(problems == [.missingEmail(dn: "uid=x")])
    }

    @Test func anEntryWithoutAnchorIsNotAPerson() {
        guard case .noAnchor(let dn) = mapped("uid=x", ["mail": [.text("a@b.c")]]) else {
            Issue.record("expected noAnchor"); return
        }
        #expect(dn == "uid=x")
    }

    @Test func invalidUTF8InATextAttributeIsReported() {
        guard case .person(let p, let problems) = mapped(
            "uid=x", ["entryUUID": [.text("u")], "mail": [.text("a@b.c")], "title": [.bytes([0xff, 0xfe])]]) else {
            Issue.record("no person"); return
        }
        #expect(p.jobTitle == nil)
        #expect(problems == [.invalidText(dn: "uid=x", attribute: "title")])
    }

    @Test(arguments: [
        (["pwdAccountLockedTime": [LDAPValue.text("000001010000Z")]], true),
        (["pwdAccountLockedTime": [LDAPValue.text("20261128101010Z")]], false),  // a timed lockout expires by itself
        (["nsAccountLock": [LDAPValue.text("TRUE")]], true),
        (["nsAccountLock": [LDAPValue.text("false")]], false),
        (["userAccountControl": [LDAPValue.text("514")]], true),
        (["userAccountControl": [LDAPValue.text("512")]], false),
        (["accountExpires": [LDAPValue.text("130000000000000000")]], true),  // 2012
        (["accountExpires": [LDAPValue.text("0")]], false),
        (["accountExpires": [LDAPValue.text("9223372036854775807")]], false),
        (["accountExpires": [LDAPValue.text("200000000000000000")]], false),  // 2234
    ])
    func accountLockEvidence(attributes: [String: [LDAPValue]], locked: Bool) {
        var all = attributes
        all["entryUUID"] = [.text("u")]
        #expect(person(all)?.leaverEvidence == (locked ? [.accountLock] : []))
    }

    @Test func accountLockCanBeTurnedOff() {
        let m = PersonMapper(map: .defaults(for: .openldap), accountLock: false, nowUnixSeconds: now)
        #expect(!m.attributes.contains { $0.name == "nsAccountLock" })
    }

    @Test func objectGUIDBecomesItsCanonicalForm() {
        let bytes: [UInt8] = [0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78]
        #expect(ObjectGUID.canonical(bytes) == "12345678-1234-5678-9abc-def012345678")
        #expect(ObjectGUID.canonical([1, 2, 3]) == nil)
        let ad = PersonMapper(map: .defaults(for: .activeDirectory), accountLock: true, nowUnixSeconds: now)
        #expect(ad.attributes.first == AttributeRequest("objectGUID", binary: true))
        guard case .person(let p, _) = mapped("cn=x", ["objectGUID": [.bytes(bytes)]], with: ad) else {
            Issue.record("no person"); return
        }
        #expect(p.anchor == "12345678-1234-5678-9abc-def012345678")
    }

    @Test func attributesNamedTwiceShareOneSlot() {
        var map = AttributeMap.defaults(for: .openldap)
        map.fullName = "displayName"
        map.jobTitle = "displayName"
        let m = PersonMapper(map: map, accountLock: false, nowUnixSeconds: now)
        #expect(m.attributes.filter { $0.name == "displayName" }.count == 1)
    }
}

@Suite struct GroupIndexTests {
    /// Adds a group entry to the index through the same raw path the reader uses.
    func add(_ index: inout GroupIndex, _ dn: String, members: [String] = [], unique: [String] = [], uids: [String] = []) {
        withRawEntry(dn, ["member": members.map { .text($0) }, "uniqueMember": unique.map { .text($0) },
                          "memberUid": uids.map { .text($0) }],
                     attributeNames: GroupIndex.attributes.map(\.name)) { index.add($0) }
    }

    func strip(_ value: String) -> String {
        Array(value.utf8).withUnsafeBufferPointer { String(decoding: GroupIndex.stripOptionalUID($0), as: UTF8.self) }
    }

    @Test func expandsNestedGroupsWithTheirPath() {
        var index = GroupIndex(nested: true)
        add(&index, "cn=leads,dc=x", members: ["uid=ann,dc=x"])
        add(&index, "cn=editors,dc=x", members: ["CN=Leads, DC=X"])
        add(&index, "cn=all,dc=x", members: ["cn=editors,dc=x"])
        index.finish()
        #expect(index.memberships(dn: "uid=ann,dc=x", uid: nil) == [
            GroupMembership(dn: "cn=leads,dc=x"),
            GroupMembership(dn: "cn=editors,dc=x", via: ["cn=leads,dc=x"]),
            GroupMembership(dn: "cn=all,dc=x", via: ["cn=leads,dc=x", "cn=editors,dc=x"]),
        ])
    }

    @Test func cyclesEnd() {
        var index = GroupIndex(nested: true)
        add(&index, "cn=a,dc=x", members: ["cn=b,dc=x", "uid=ann,dc=x"])
        add(&index, "cn=b,dc=x", members: ["cn=a,dc=x"])
        index.finish()
        #expect(index.memberships(dn: "uid=ann,dc=x", uid: nil) == [
            GroupMembership(dn: "cn=a,dc=x"), GroupMembership(dn: "cn=b,dc=x", via: ["cn=a,dc=x"]),
        ])
    }

    @Test func withoutNestingOnlyDirectGroups() {
        var index = GroupIndex(nested: false)
        add(&index, "cn=leads,dc=x", members: ["uid=ann,dc=x"])
        add(&index, "cn=editors,dc=x", members: ["cn=leads,dc=x"])
        index.finish()
        #expect(index.memberships(dn: "uid=ann,dc=x", uid: nil) == [GroupMembership(dn: "cn=leads,dc=x")])
    }

    @Test func uniqueMemberAndMemberUid() {
        var index = GroupIndex(nested: true)
        add(&index, "cn=reviewers,dc=x", unique: ["uid=ann,dc=x#'0101'B"])
        add(&index, "cn=viewers,dc=x", uids: ["ann"])
        index.finish()
        #expect(index.memberships(dn: "uid=ann,dc=x", uid: "ann").map(\.dn) == ["cn=reviewers,dc=x", "cn=viewers,dc=x"])
        #expect(index.memberships(dn: "uid=ann,dc=x", uid: "Ann").map(\.dn) == ["cn=reviewers,dc=x"])
    }

    @Test func stripsOnlyARealOptionalUID() {
        #expect(strip("uid=a,dc=x#'0101'B") == "uid=a,dc=x")
        #expect(strip("cn=\\#1,dc=x") == "cn=\\#1,dc=x")
    }
}

@Suite struct LdapsearchCommandTests {
    @Test func quotesForTheShell() {
        #expect(LdapsearchCommand.quote("ou=people,dc=example,dc=com") == "ou=people,dc=example,dc=com")
        #expect(LdapsearchCommand.quote("(objectClass=*)") == "'(objectClass=*)'")
        #expect(LdapsearchCommand.quote("it's") == "'it'\\''s'")
    }

    @Test func neverContainsThePassword() {
        let settings = DirectorySettings(urls: ["ldaps://ldap.example.com"], tls: .init(caFile: "/etc/ca.pem"),
                                         bindMethod: .simple, bindDN: "cn=svc,dc=example,dc=com",
                                         bindPasswordFile: "/run/credentials/pw", users: [])
        let line = LdapsearchCommand.render(settings: settings, url: "ldaps://ldap.example.com", passwordFile: "/run/credentials/pw",
                                            request: SearchRequest(base: "dc=example,dc=com", scope: .sub,
                                                                   filter: "(cn=x)", attributes: [AttributeRequest("mail")]))
        #expect(line == "LDAPTLS_CACERT=/etc/ca.pem LDAPTLS_REQCERT=demand ldapsearch -H ldaps://ldap.example.com -x "
                + "-D cn=svc,dc=example,dc=com -y /run/credentials/pw -b dc=example,dc=com -s sub -E pr=1000/noprompt '(cn=x)' mail")
    }
}
