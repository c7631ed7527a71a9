import Directory
import Foundation
import Testing
@testable import Daemon

/// The change feed's request for a full run cuts the daemon's wait short; an event batch carries it.
@Suite struct FullRunRequestTests {
    @Test func aRequestEndsTheWaitEarly() async throws {
        let requests = FullRunRequests()
        let started = ContinuousClock.now
        Task { try await Task.sleep(for: .milliseconds(300)); requests.request() }
        // A bound, not a timing: without the request this would sleep the full ten minutes.
        #expect(try await requests.sleep(for: .seconds(600)) == true)
        #expect(ContinuousClock.now - started < .seconds(300))
        #expect(try await requests.sleep(for: .milliseconds(300)) == false, "a request is taken once")
    }

    @Test func theInboxCarriesAFullRunWithItsEvents() {
        let inbox = FeedInbox()
        inbox.post(events: 2, at: Date())
        inbox.post(events: 0, at: nil, fullRun: true)
        let batch = inbox.take()
        #expect(batch?.fullRun == true)
        #expect(batch?.events == 2)
        #expect(inbox.take() == nil)
        inbox.post(events: 1, at: nil)
        #expect(inbox.take()?.fullRun == false)
    }

    @Test func dirSyncEventsCountUnderTheBasesAndDeletedObjects() {
        let scopes = [(base: "OU=People,DC=example,DC=test", filter: "(objectClass=user)")]
        #expect(DirSyncWatch.concerns("CN=ann,OU=People,DC=example,DC=test", scopes: scopes))
        #expect(DirSyncWatch.concerns("CN=ann\\0ADEL:4add85c5-3dac-4f19-8ab3-c930396a9a7c,CN=Deleted Objects,DC=example,DC=test", scopes: scopes))
        #expect(!DirSyncWatch.concerns("CN=bob,OU=Contractors,DC=example,DC=test", scopes: scopes))
    }
}
