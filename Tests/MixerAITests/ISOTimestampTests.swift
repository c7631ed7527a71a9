import Foundation
import Testing
@testable import MixerAI

@Suite struct ISOTimestampTests {
    @Test(arguments: ["2026-11-29T10:15:00Z", "2026-11-29T10:15:00.123Z", "2026-11-29T10:15:00.123456+00:00",
                      "2026-11-29T11:15:00+01:00", "1999-02-28T23:59:59-05:30", "2024-02-29T00:00:00Z", "1970-01-01T00:00:00Z"])
    func agreesWithFoundation(text: String) throws {
        let f = ISO8601DateFormatter()
        f.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        let expected = try #require(f.date(from: text))
        let parsed = try #require(ISOTimestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince(expected)) < 0.001)
    }

    @Test(arguments: ["", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T10:15:00", "2026-11-29T10:15:00Zjunk", "not a date"])
    func rejectsWhatIsNotATimestamp(text: String) {
        #expect(ISOTimestamp.parse(text) == nil)
    }
}
