import Testing
@testable import Reconcile

@Suite struct MatcherTests {
    func person(_ anchor: String, _ email: String?) -> Person { Person(anchor: anchor, dn: "uid=\(anchor)", email: email) }
    func account(_ id: String, _ email: String?) -> Account { Account(id: id, email: email) }

    @Test func theLinkWinsOverTheEmail() {
        let m = Matcher.match(people: [person("a1", "new@x.com")], accounts: [account("m1", "old@x.com"), account("m2", "new@x.com")],
                              links: ["a1": "m1"])
        #expect(m.pairs == [.init(anchor: "a1", accountId: "m1", how: .link)])
        #expect(m.unmatchedAccounts == ["m2"])
    }

    @Test func unlinkedPeopleMatchByEmail() {
        let m = Matcher.match(people: [person("a1", "ann@x.com")], accounts: [account("m1", "ann@x.com")], links: [:])
        #expect(m.pairs == [.init(anchor: "a1", accountId: "m1", how: .email)])
    }

    @Test func peopleWithoutAnAccountAreInviteCandidates() {
        let m = Matcher.match(people: [person("a1", "ann@x.com"), person("a2", nil)], accounts: [], links: [:])
        #expect(m.unmatchedPeople == ["a1", "a2"])
    }

    @Test func aDuplicateEmailBlocksEveryoneWhoHasIt() {
        let m = Matcher.match(people: [person("a1", "dup@x.com"), person("a2", "dup@x.com")],
                              accounts: [account("m1", "dup@x.com")], links: ["a1": "m1"])
        #expect(m.pairs.isEmpty)
        #expect(m.blocked == ["a1", "a2"])
        #expect(m.conflicts == [.duplicateEmail(email: "dup@x.com", anchors: ["a1", "a2"])])
    }

    @Test func anEmailOwnedByAnotherLinkedPersonIsAConflict() {
        let m = Matcher.match(people: [person("a2", "ann@x.com")], accounts: [account("m1", "ann@x.com")],
                              links: ["a1": "m1"])
        #expect(m.conflicts == [.emailOwnedByOtherLink(anchor: "a2", email: "ann@x.com", accountId: "m1", linkedAnchor: "a1")])
        #expect(m.blocked == ["a2"])
        #expect(m.unmatchedPeople.isEmpty, "no invite for a conflicted person")
    }

    @Test func twoAccountsWithOneEmailAreNotGuessed() {
        let m = Matcher.match(people: [person("a1", "ann@x.com")], accounts: [account("m1", "ann@x.com"), account("m2", "ann@x.com")],
                              links: [:])
        #expect(m.pairs.isEmpty)
        #expect(m.blocked == ["a1"])
        #expect(m.conflicts == [.duplicateAccounts(email: "ann@x.com", accountIds: ["m1", "m2"])])
    }

    @Test func aLinkToADeletedAccountFallsBackToEmail() {
        let m = Matcher.match(people: [person("a1", "ann@x.com")], accounts: [account("m9", "ann@x.com")], links: ["a1": "m1"])
        #expect(m.pairs == [.init(anchor: "a1", accountId: "m9", how: .email)])
    }
}
