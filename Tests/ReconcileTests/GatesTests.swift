import Testing
@testable import Reconcile

@Suite struct GatesTests {
    let policy = Policy()  // shrink 20 %, 25 deactivations, 10 %, 25 downgrades

    func held(_ input: GateInput) -> [String] {
        Gates.evaluate(input, policy: policy).filter { $0.verdict == .hold }.map(\.name)
    }

    @Test func aQuietRunPassesEverything() {
        #expect(held(GateInput(inScopePeople: 100, lastGoodInScopePeople: 100, managedActiveAccounts: 100)) == [])
    }

    @Test func anIncompleteReadHolds() {
        #expect(held(GateInput(incompleteRead: "sizeLimitExceeded", inScopePeople: 100)) == ["completeness"])
    }

    @Test func anEmptySnapshotHolds() {
        #expect(held(GateInput(inScopePeople: 0)) == ["empty_snapshot"])
    }

    @Test func shrinkingBeyondTheLimitHolds() {
        #expect(held(GateInput(inScopePeople: 70, lastGoodInScopePeople: 100)) == ["max_shrink_percent"])
        #expect(held(GateInput(inScopePeople: 80, lastGoodInScopePeople: 100)) == [])
        #expect(held(GateInput(inScopePeople: 150, lastGoodInScopePeople: 100)) == [], "growth is not shrink")
    }

    @Test func deactivationsHoldByCountByPercentAndOver24Hours() {
        #expect(held(GateInput(inScopePeople: 1000, plannedDeactivations: 26, managedActiveAccounts: 1000))
                == ["max_deactivations", "max_deactivations_24h"])
        #expect(held(GateInput(inScopePeople: 100, plannedDeactivations: 11, managedActiveAccounts: 100))
                == ["max_deactivations_percent"])
        #expect(held(GateInput(inScopePeople: 1000, plannedDeactivations: 5, recentDeactivations: 21,
                               managedActiveAccounts: 1000)) == ["max_deactivations_24h"])
    }

    @Test func noDeactivationsIsNeverHeldByADeactivationGate() {
        #expect(held(GateInput(inScopePeople: 10, recentDeactivations: 500, managedActiveAccounts: 0)) == [])
    }

    @Test func downgradesHaveTheirOwnLimit() {
        #expect(held(GateInput(inScopePeople: 100, plannedDowngrades: 26)) == ["max_downgrades"])
    }

    @Test func detailsSayTheFigures() {
        let v = Gates.evaluate(GateInput(inScopePeople: 1000, plannedDeactivations: 3, managedActiveAccounts: 1000), policy: policy)
        #expect(v.first { $0.name == "max_deactivations" } == GateVerdict("max_deactivations", .pass, "3 of limit 25"))
        #expect(v.first { $0.name == "max_deactivations_percent" }?.detail
                == "3 of 1000 managed active accounts (0.3%, limit 10%)")
    }
}
