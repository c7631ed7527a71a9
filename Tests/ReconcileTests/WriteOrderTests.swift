import Foundation
import Testing
@testable import Reconcile

@Suite struct WriteOrderTests {
    func change(_ kind: Change.Kind, _ anchor: String, from: AccountState = AccountState(), to: AccountState = AccountState()) -> Change {
        Change(kind: kind, anchor: anchor, email: nil, dn: nil, mixerUserId: "m-\(anchor)", from: from, to: to, reasons: ["r"])
    }

    @Test func offboardingFirstThenDemotionsProfileInvitesPromotions() {
        let plan = Plan(changes: [
            change(.invite, "i", to: AccountState(role: .editor, brands: ["A": .editor])),
            change(.setRole, "up", from: AccountState(role: .viewer), to: AccountState(role: .editor)),
            change(.update, "p", from: AccountState(role: .editor), to: AccountState(role: .editor)),
            change(.setBrands, "down", from: AccountState(role: .editor, brands: ["A": .editor]), to: AccountState(role: .editor, brands: [:])),
            change(.delete, "x", from: AccountState(active: false)),
            change(.deactivate, "d", from: AccountState(active: true, role: .editor), to: .offboarded),
        ], conflicts: [], manualActions: [], unlinked: [])
        #expect(plan.queue.map { $0.anchor! } == ["d", "down", "p", "i", "up", "x"])
    }

    @Test(arguments: [
        (["A": Role.editor], Role.editor, false),   // one brand at the global role: the invite alone yields it
        ([:], Role.viewer, false),                  // no brand
        (["A": .viewer], Role.editor, true),        // one brand at another role
        (["A": .editor, "B": .editor], Role.editor, true),
        (["A": .admin], Role.editor, true),         // brand admin, global capped at editor
    ])
    func inviteNeedsAPutUnlessTheInviteAloneYieldsIt(brands: [String: Role], role: Role, needsPut: Bool) {
        let c = change(.invite, "i", to: AccountState(active: true, role: role, brands: brands))
        #expect(c.inviteNeedsUpdate == needsPut)
        #expect(c.writes == (needsPut ? 2 : 1))
    }

    @Test func writesPerChange() {
        #expect(change(.deactivate, "a", from: AccountState(active: true)).writes == 2)
        #expect(change(.deactivate, "a", from: AccountState(active: false, role: .editor)).writes == 1)
        #expect(change(.reactivate, "a").writes == 2)
        #expect(change(.setRole, "a").writes == 1)
        #expect(change(.delete, "a").writes == 1)
    }

    @Test func theInviteGrantIsTheFirstBrandByNameAtTheGlobalRole() {
        let c = change(.invite, "i", to: AccountState(role: .editor, brands: ["Brand B": .viewer, "Brand A": .editor]))
        #expect(c.inviteGrant == AccountState(role: .editor, brands: ["Brand A": .editor]))
    }

    @Test func theFastPathTakesOnlyChangesThatGrantNothing() {
        let ed = AccountState(role: .editor, brands: ["A": .editor, "B": .viewer])
        #expect(change(.deactivate, "a", from: ed, to: .offboarded).onlyRestricts)
        #expect(change(.setRole, "a", from: ed, to: AccountState(role: .viewer, brands: ["A": .editor, "B": .viewer])).onlyRestricts)
        #expect(change(.setBrands, "a", from: ed, to: AccountState(role: .editor, brands: ["A": .editor])).onlyRestricts)
        #expect(change(.setBrands, "a", from: ed, to: AccountState(role: .editor, brands: ["A": .viewer, "B": .viewer])).onlyRestricts)
        #expect(!change(.setBrands, "a", from: ed, to: AccountState(role: .editor, brands: ["A": .editor, "C": .viewer])).onlyRestricts)
        #expect(!change(.setRole, "a", from: ed, to: AccountState(role: .admin, brands: ["A": .editor])).onlyRestricts)
        #expect(!change(.setRole, "a", from: AccountState(role: .viewer), to: AccountState(role: .editor)).onlyRestricts)
        #expect(!change(.update, "a", from: ed, to: ed).onlyRestricts)
        #expect(!change(.invite, "a", to: ed).onlyRestricts)
        #expect(!change(.reactivate, "a", to: ed).onlyRestricts)
        #expect(!change(.delete, "a", from: AccountState(active: false)).onlyRestricts)
    }
}
