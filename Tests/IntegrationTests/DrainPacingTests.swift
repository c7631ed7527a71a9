import Foundation
import MixerAI
import Reconcile
import Testing
@testable import Daemon

/// When the drainer lets a change go, given MixerAI's write window (pure: no server needed).
@Suite struct DrainPacingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func budget(left: Int?, limit: Int = 50, resetIn: Double = 600, blockedFor: Double? = nil) -> WriteBudget {
        var b = WriteBudget()
        b.limit = limit
        b.remaining = left
        b.resetAt = now.addingTimeInterval(resetIn)
        b.blockedUntil = blockedFor.map { now.addingTimeInterval($0) }
        return b
    }

    func change(_ kind: Change.Kind) -> Change {
        Change(kind: kind, anchor: "a", email: "a@x.com", dn: nil, mixerUserId: kind == .invite ? nil : "m1",
               from: AccountState(active: true, role: .editor, brands: ["A": .editor]),
               to: kind == .deactivate ? .offboarded : AccountState(role: .editor, brands: ["A": .editor]), reasons: ["r"])
    }

    @Test func theLastWritesOfAWindowAreKeptForOffboardings() {
        #expect(QueueDrainer.reserve(limit: 50) == 5)
        #expect(QueueDrainer.reserve(limit: 10) == 2)
        #expect(QueueDrainer.reserve(limit: 5) == 2)
        let reset = now.addingTimeInterval(600)
        #expect(QueueDrainer.hold(change(.invite), budget: budget(left: 6), now: now) == nil)
        #expect(QueueDrainer.hold(change(.invite), budget: budget(left: 5), now: now) == reset)
        #expect(QueueDrainer.hold(change(.update), budget: budget(left: 5), now: now) == reset)
        #expect(QueueDrainer.hold(change(.deactivate), budget: budget(left: 5), now: now) == nil)
        #expect(QueueDrainer.hold(change(.deactivate), budget: budget(left: 1), now: now) == nil, "the deactivation goes at once")
        #expect(QueueDrainer.hold(change(.deactivate), budget: budget(left: 0), now: now) == reset)
    }

    @Test func aWindowThatHasResetOrABlockDecide() {
        #expect(QueueDrainer.hold(change(.invite), budget: budget(left: 0, resetIn: -1), now: now) == nil, "a new window")
        #expect(QueueDrainer.hold(change(.invite), budget: budget(left: nil), now: now) == nil, "nothing learnt yet")
        #expect(QueueDrainer.hold(change(.deactivate), budget: budget(left: 40, blockedFor: 30), now: now)
                == now.addingTimeInterval(30), "a Retry-After holds everything")
    }
}
