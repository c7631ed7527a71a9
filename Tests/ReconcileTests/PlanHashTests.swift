import Testing
@testable import Reconcile

@Suite struct PlanHashTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256KnownVectors(input: String, digest: String) {
        #expect(SHA256.hex(input.utf8) == digest)
    }

    @Test func sha256OfAMillionAs() {
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func canonicalJSONSortsKeysAndEscapes() {
        let v: CanonicalJSON = .object(["b": .int(1), "a": .array([.string("x\"y\n"), .null, .bool(true)])])
        #expect(v.text == #"{"a":["x\"y\n",null,true],"b":1}"#)
    }

    let a = Change(kind: .invite, anchor: "a1", email: "a@x.com", dn: "uid=a", mixerUserId: nil, from: AccountState(),
                   to: AccountState(active: true, role: .editor, brands: ["Brand A": .editor]), reasons: ["r1"])
    let b = Change(kind: .deactivate, anchor: "b1", email: "b@x.com", dn: "uid=b", mixerUserId: "m2",
                   from: AccountState(active: true, role: .viewer, brands: [:]), to: .offboarded, reasons: ["r2"])

    @Test func theHashIgnoresOrderReasonsAndEmails() {
        var b2 = b
        b2.reasons = ["another reason"]
        b2.email = "other@x.com"
        b2.dn = "uid=elsewhere"
        #expect(PlanHash.of([a, b]) == PlanHash.of([b2, a]))
        #expect(PlanHash.of([a, b]).hasPrefix("sha256:"))
    }

    @Test func theHashCoversKindAnchorIdFromAndTo() {
        let base = PlanHash.of([a, b])
        var c = b; c.to.role = .editor
        #expect(PlanHash.of([a, c]) != base)
        c = b; c.mixerUserId = "m3"
        #expect(PlanHash.of([a, c]) != base)
        c = b; c.anchor = "b2"
        #expect(PlanHash.of([a, c]) != base)
        c = b; c.from.active = false
        #expect(PlanHash.of([a, c]) != base)
        #expect(PlanHash.of([]) != base)
    }
}
