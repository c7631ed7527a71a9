import Testing
@testable import LDAPClient

/// Active Directory's ranged retrieval (`member;range=0-1499`): what is left to fetch, and which slot it fills.
@Suite struct RangedAttributeTests {
    func next(_ name: String) -> Int? {
        Array(name.utf8).withUnsafeBytes { AttributeMatcher.rangeContinuation($0) }
    }

    @Test func aNumericEndMeansMoreToFetch() {
        #expect(next("member;range=0-1499") == 1500)
        #expect(next("member;Range=1500-2999") == 3000)
        #expect(next("member;range=3000-*") == nil, "the last part")
        #expect(next("member") == nil)
        #expect(next("member;binary") == nil)
        #expect(next("member;range=x-y") == nil)
    }

    @Test func aRangedNameFillsTheSlotOfItsAttribute() {
        let matcher = AttributeMatcher([AttributeRequest("member;range=0-1499"), AttributeRequest("uniqueMember")])
        func slot(_ name: String) -> Int? { Array(name.utf8).withUnsafeBytes { matcher.slot(for: $0) } }
        #expect(slot("member;range=0-1499") == 0)
        #expect(slot("MEMBER;range=1500-*") == 0)
        #expect(slot("uniqueMember") == 1)
        #expect(slot("memberOf") == nil)
    }
}
