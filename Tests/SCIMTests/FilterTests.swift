import Foundation
import SCIM
import Testing

/// RFC 7644 §3.4.2.2's filter examples, parsed and evaluated against resources built for them.
@Suite struct FilterTests {
    static let bjensen: JSON = [
        "schemas": [.string(SCIMSchema.user), .string(SCIMSchema.enterpriseUser)],
        "id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen", "userType": "Employee",
        "title": "Tour Guide", "active": true,
        "name": ["familyName": "O'Malley", "givenName": "Barbara"],
        "emails": [["value": "bjensen@example.com", "type": "work", "primary": true],
                   ["value": "babs@jensen.org", "type": "home"]],
        "ims": [["value": "babs@foo.com", "type": "xmpp"]],
        "meta": ["lastModified": "2011-05-13T04:42:34Z", "version": "W/\"a330bc54f0671c9\""],
        .init(stringLiteral: SCIMSchema.enterpriseUser): ["department": "Tour Operations"],
    ]

    static func user(_ extra: [String: JSON]) -> JSON {
        guard case .object(var o) = bjensen else { return bjensen }
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    /// Every example of RFC 7644 §3.4.2.2, with whether Barbara Jensen matches it.
    @Test(arguments: [
        (#"userName eq "bjensen""#, true),
        (#"name.familyName co "O'Malley""#, true),
        (#"userName sw "J""#, false),
        (#"userName sw "b""#, true),
        (#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, false),
        (#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#, true),
        ("title pr", true),
        (#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
        (#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
        (#"meta.lastModified gt "2011-05-13T06:42:34+03:00""#, true),
        (#"title pr and userType eq "Employee""#, true),
        (#"title pr or userType eq "Intern""#, true),
        (#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
        (#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
        (#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
        (#"userType eq "Employee" and (emails.type eq "work")"#, true),
        (#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
        (#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#, true),
        (#"emails[type eq "home" and value co "@example.com"]"#, false),
        (#"USERNAME EQ "BJENSEN""#, true),
        (#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
        (#"active eq true"#, true),
        (#"not (active eq true)"#, false),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ew "operations""#, true),
        (#"nickName pr"#, false),
        (#"userName ew "sen" and title sw "Tour""#, true),
        (#"userName eq "x" or userName eq "y" and title pr"#, false),
    ])
    func rfcExamples(filter: String, matches: Bool) throws {
        let parsed = try FilterParser.parse(filter)
        #expect(try FilterEvaluator.matches(parsed, Self.bjensen) == matches, "\(filter) → \(parsed)")
    }

    @Test func andBindsTighterThanOr() throws {
        let f = try FilterParser.parse(#"a eq "1" or b eq "2" and c eq "3""#)
        let a = AttributePath("a"), b = AttributePath("b"), c = AttributePath("c")
        #expect(f == .or(.compare(a, .eq, "1"), .and(.compare(b, .eq, "2"), .compare(c, .eq, "3"))))
    }

    @Test func valuesAndPathsParse() throws {
        #expect(try FilterParser.parse("count gt 10") == .compare(AttributePath("count"), .gt, .number(10)))
        #expect(try FilterParser.parse("x eq null") == .compare(AttributePath("x"), .eq, .null))
        #expect(try FilterParser.parse(#"x eq "a \"quoted\" \u00e9""#) == .compare(AttributePath("x"), .eq, "a \"quoted\" é"))
        let p = try FilterParser.parsePath(#"addresses[type eq "work"].streetAddress"#)
        #expect(p.attribute == AttributePath("addresses") && p.subAfterFilter == "streetAddress")
        #expect(p.filter == .compare(AttributePath("type"), .eq, "work"))
        let e = try FilterParser.parsePath("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
        #expect(e.attribute == AttributePath(schema: SCIMSchema.enterpriseUser, "manager", sub: "value"))
    }

    /// Bad filters are SCIM's 400 invalidFilter, never a crash or a match.
    @Test(arguments: [
        "", "userName", #"userName eq"#, #"userName xx "a""#, #"userName eq bjensen"#, #"(userName eq "a""#,
        #"userName eq "a")"#, #"emails[type eq "work""#, #"not userName eq "a""#, #"userName eq "a" and"#,
        #"userName eq "unterminated"#, #"a.b.c eq "x""#, #"name.givenName[x eq "y"]"#, "]", #"userName eq "\q""#,
        String(repeating: "(", count: 40) + #"a eq "b""# + String(repeating: ")", count: 40),
        String(repeating: "not (", count: 20) + #"a eq "b""# + String(repeating: ")", count: 20),
        String(repeating: "a", count: 5000),
    ])
    func badFiltersAreInvalidFilter(filter: String) {
        #expect(throws: SCIMError.self) { try FilterParser.parse(filter) }
        do { _ = try FilterParser.parse(filter) } catch { #expect(error.scimType == .invalidFilter && error.status == 400) }
    }

    @Test func orderingABooleanIsRefused() throws {
        let f = try FilterParser.parse("active gt true")
        #expect(throws: SCIMError.badRequest(.invalidFilter, "gt does not apply to a boolean")) { try FilterEvaluator.matches(f, Self.bjensen) }
    }

    @Test func entraBooleanStringsCompareAsBooleans() throws {
        #expect(try FilterEvaluator.matches(FilterParser.parse("active eq false"), Self.user(["active": "False"])))
    }

    @Test func theErrorEnvelopeHasAStringStatus() {
        let e = SCIMError.badRequest(.invalidFilter, "x").json
        #expect(e["status"] == "400" && e["scimType"] == "invalidFilter")
        #expect(e["schemas"] == [.string(SCIMSchema.error)])
    }
}

extension FilterTests {
    /// A value path under the core schema's URN names the resource's own attribute (not an extension object).
    @Test func aValuePathWithTheCoreURN() throws {
        let f = try FilterParser.parse(#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#)
        #expect(try FilterEvaluator.matches(f, Self.bjensen))
    }
}
