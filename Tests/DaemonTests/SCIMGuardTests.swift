@testable import Daemon
import Testing

/// The SCIM bridge's guards: the bearer check (any configured token, whole, and nothing else) and the rate limit.
@Suite struct SCIMGuardTests {
    let tokens = [Array("first-token-0123456789".utf8), Array("second-token-abcdefgh".utf8)]

    @Test func eachConfiguredTokenIsAccepted() {
        #expect(SCIMServer.authorized("Bearer first-token-0123456789", tokens: tokens))
        #expect(SCIMServer.authorized("bearer second-token-abcdefgh", tokens: tokens))
    }

    @Test(arguments: [nil, "", "Bearer ", "Basic first-token-0123456789", "Bearer first-token-012345678",
                      "Bearer first-token-01234567890", "Bearer second-token-abcdefgH"])
    func anythingElseIsRefused(header: String?) {
        #expect(!SCIMServer.authorized(header, tokens: tokens))
    }

    @Test func aTokenFollowedByALengthThatWrapsAByteIsRefused() {
        // 22 + 256 characters: the lengths differ by 256, which a difference kept in one byte would miss.
        #expect(!SCIMServer.authorized("Bearer first-token-0123456789" + String(repeating: "x", count: 256), tokens: tokens))
    }

    @Test func theRateLimitRefusesBeyondItsBurstAndRefills() async throws {
        let rate = RequestRate(rate: 5)
        #expect((0..<5).map { _ in rate.take() } == Array(repeating: true, count: 5), "a burst up to the rate")
        #expect(!rate.take(), "then 429")
        try await Task.sleep(for: .milliseconds(450))
        #expect(rate.take() && rate.take(), "5 a second come back")
    }
}
