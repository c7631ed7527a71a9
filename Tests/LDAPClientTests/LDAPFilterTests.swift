import Testing
@testable import LDAPClient

@Suite struct LDAPFilterTests {
    @Test func escapesEveryFilterMetacharacter() {
        #expect(LDAPFilter.escape("*)(uid=*") == "\\2a\\29\\28uid=\\2a")
        #expect(LDAPFilter.escape("R&D (Europe) \\") == "R&D \\28Europe\\29 \\5c")
        #expect(LDAPFilter.escape("a\u{0}b") == "a\\00b")
    }

    @Test func escapesNonASCIIBytes() {
        #expect(LDAPFilter.escape("zoë") == "zo\\c3\\ab")
    }

    @Test func equalityWrapsAnEscapedValue() {
        #expect(LDAPFilter.equality("cn", "*)(uid=*") == "(cn=\\2a\\29\\28uid=\\2a)")
    }

    @Test func noUnescapedSpecialSurvives() {
        let nasty = ["*", "(", ")", "\\", "*)(|(objectClass=*", "\\2a", "))((", "a*b*c"]
        for value in nasty {
            let escaped = LDAPFilter.escape(value)
            var bytes = Array(escaped.utf8)[...]
            while let b = bytes.first {
                bytes = bytes.dropFirst()
                #expect(b != UInt8(ascii: "*") && b != UInt8(ascii: "(") && b != UInt8(ascii: ")"), "in \(escaped)")
                if b == UInt8(ascii: "\\") {
                    let hex = bytes.prefix(2)
                    #expect(hex.count == 2 && hex.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
                    bytes = bytes.dropFirst(2)
                }
            }
        }
    }

    @Test func combinesFilters() {
        #expect(LDAPFilter.and(["(a=1)", "(b=2)"]) == "(&(a=1)(b=2))")
        #expect(LDAPFilter.or(["(a=1)"]) == "(a=1)")
        #expect(LDAPFilter.normalized(" objectClass=person ") == "(objectClass=person)")
    }
}

@Suite struct DistinguishedNameTests {
    @Test func controlCharactersAreEscapedSoLibldapKeepsThem() {
        #expect(DistinguishedName.escape("\rlead") == "\\0dlead")
        #expect(DistinguishedName.escape("a\u{0}b\tc\n") == "a\\00b\\09c\\0a")
        #expect(DistinguishedName("cn=\(DistinguishedName.escape("\rx\n")),dc=x")?.rdns.first?.first?.value == "\rx\n")
    }

    @Test func withinComparesNormalisedSuffixes() {
        let people = DistinguishedName("OU=People,DC=example,DC=test")!
        #expect(DistinguishedName("cn=ann,ou=people,dc=EXAMPLE,dc=test")!.isWithin(people))
        #expect(DistinguishedName("OU=People, DC=example, DC=test")!.isWithin(people))
        #expect(!DistinguishedName("CN=ann,OU=Leavers,DC=example,DC=test")!.isWithin(people))
        #expect(!DistinguishedName("DC=example,DC=test")!.isWithin(people))
        #expect(!DistinguishedName("CN=ann,OU=People2,DC=example,DC=test")!.isWithin(people))
    }

    @Test func escapesRFC4514Specials() {
        #expect(DistinguishedName.escape("Smith, John") == "Smith\\, John")
        #expect(DistinguishedName.escape("R&D (Europe) \\") == "R&D (Europe) \\\\")
        #expect(DistinguishedName.escape(" lead") == "\\ lead")
        #expect(DistinguishedName.escape("trail ") == "trail\\ ")
        #expect(DistinguishedName.escape("#hash") == "\\#hash")
        #expect(DistinguishedName.escape("a+b;c<d>e\"f=g") == "a\\+b\\;c\\<d\\>e\\\"f\\=g")
    }

    @Test func parsesEscapesBothWays() {
        let a = DistinguishedName("cn=Smith\\, John,ou=People,dc=example,dc=com")
        let b = DistinguishedName("CN=Smith\\2C John, OU=people,DC=EXAMPLE,DC=COM")
        #expect(a != nil)
        #expect(a?.rdns.first?.first?.value == "Smith, John")
        #expect(a?.normalized == b?.normalized)
    }

    @Test func roundTripsThroughEscaping() {
        for value in ["R&D, Europe (*)\\", " x ", "#1", "a+b", "plain", "quote\"d", "zoë"] {
            let dn = DistinguishedName.child(type: "cn", value: value, of: "ou=groups,dc=example,dc=com")
            let parsed = DistinguishedName(dn)
            #expect(parsed?.rdns.first?.first?.value == value, "\(dn)")
            #expect(parsed?.rdns.count == 4)
        }
    }

    @Test func normalizeFastPathMatchesFullParse() {
        let samples = ["uid=Ann,OU=People,dc=Example,dc=com", "uid = ann , ou=people,dc=example,dc=com",
                       "cn=Smith\\, John,ou=people,dc=example,dc=com", "cn=a+sn=b,dc=x", "cn=*)(uid=*,dc=x",
                       "cn=*)(uid\\3D*,dc=x", "cn=a<b>c,dc=x"]
        for s in samples {
            #expect(DistinguishedName.normalize(s) == DistinguishedName(s)?.normalized, "\(s)")
        }
        #expect(DistinguishedName.normalize("uid=Ann,OU=People,dc=Example,dc=com") == "uid=ann,ou=people,dc=example,dc=com")
        #expect(DistinguishedName.normalize("cn=*)(uid=*,dc=x") == DistinguishedName.normalize("cn=*)(uid\\3D*,dc=x"))
    }

    @Test func multiValuedRDNsCompareInAnyOrder() {
        #expect(DistinguishedName.normalize("cn=a+sn=b,dc=x") == DistinguishedName.normalize("sn=B+cn=A,dc=x"))
    }

    @Test func rejectsGarbage() {
        #expect(DistinguishedName("not a dn") == nil)
        #expect(DistinguishedName("cn=trailing\\") == nil)
    }
}

@Suite struct LDAPErrorTests {
    @Test func classifiesPartialReads() {
        for code in [LDAPResultCode.sizeLimitExceeded, .timeLimitExceeded, .adminLimitExceeded, .referral,
                     .continuationReference] {
            #expect(LDAPError(code: code, operation: .search).kind == .partial)
        }
    }

    @Test func classifiesCredentialsAndConfiguration() {
        #expect(LDAPError(code: .invalidCredentials, operation: .bind).kind == .credentials)
        #expect(LDAPError(code: .noSuchObject, operation: .search).kind == .configuration)
        #expect(LDAPError(code: .serverDown, operation: .startTLS).kind == .configuration)
        #expect(LDAPError(code: .serverDown, operation: .search).kind == .transient)
        #expect(LDAPError(code: .timeout, operation: .bind).kind == .transient)
    }

    @Test func describesWithContext() {
        let e = LDAPError(code: .noSuchObject, operation: .search, diagnostic: "", matchedDN: "dc=example,dc=com",
                          base: "ou=gone,dc=example,dc=com", entriesBeforeFailure: 0)
        #expect(e.description.contains("ou=gone,dc=example,dc=com"))
        #expect(e.description.contains("(noSuchObject, 32)"))
        #expect(e.description.contains("deepest existing entry: dc=example,dc=com"))
    }

    @Test func matcherIgnoresCaseAndOptions() {
        let m = AttributeMatcher([AttributeRequest("member"), AttributeRequest("entryUUID")])
        func slot(_ s: String) -> Int? { Array(s.utf8).withUnsafeBytes { m.slot(for: $0) } }
        #expect(slot("MEMBER") == 0)
        #expect(slot("member;range=0-1499") == 0)
        #expect(slot("entryuuid") == 1)
        #expect(slot("mail") == nil)
        #expect(slot("members") == nil)
    }
}
