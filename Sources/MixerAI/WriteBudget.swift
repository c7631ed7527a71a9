import Foundation

/// MixerAI's write budget (the `sensitive` bucket: every path containing `/api/users/`), learned from the
/// `X-RateLimit-*` headers. The client waits for the window to reset instead of provoking a 429 — MixerAI
/// blocks a key after its third refused request.
public struct WriteBudget: Sendable, Equatable {
    public var limit: Int?
    public var remaining: Int?
    /// When the window resets, on the local clock.
    public var resetAt: Date?
    /// Set by a 429's Retry-After: nothing is sent before it.
    public var blockedUntil: Date?
    /// 429 answers seen (should stay 0).
    public var refusals = 0

    public init() {}

    /// How long to wait before the next write may go.
    public func wait(now: Date) -> TimeInterval {
        if let until = blockedUntil, until > now { return until.timeIntervalSince(now) }
        if remaining == 0, let reset = resetAt, reset > now { return reset.timeIntervalSince(now) }
        return 0
    }

    /// Learns from a response's headers. `serverDate` is its Date header: when it disagrees with the local clock
    /// by more than 2 s, the reset time is shifted by the difference (clock skew).
    public mutating func update(limit: String?, remaining: String?, reset: String?, serverDate: Date?, now: Date) {
        if let l = limit.flatMap(Int.init) { self.limit = l }
        if let r = remaining.flatMap(Int.init) {
            self.remaining = r
        }
        if let text = reset, let at = ISOTimestamp.parse(text) {
            var offset = 0.0
            if let serverDate, abs(serverDate.timeIntervalSince(now)) > 2 { offset = serverDate.timeIntervalSince(now) }
            // A small margin so the first write of the new window lands after the server's reset.
            resetAt = at.addingTimeInterval(-offset + 0.05)
        }
    }

    /// Records the write we are about to send (until the answer says otherwise).
    mutating func spend() {
        if let r = remaining, r > 0 { remaining = r - 1 }
    }
}

/// `Retry-After`: delta-seconds, or an HTTP-date computed against the response's own Date header.
public enum RetryAfter {
    public static func seconds(_ value: String?, serverDate: Date?) -> TimeInterval? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let s = Int(value) { return TimeInterval(max(0, s)) }
        guard let date = HTTPDate.parse(value) else { return nil }
        return max(0, date.timeIntervalSince(serverDate ?? Date()))
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7), parsed by hand: it is read from every
/// response's Date header, and a DateFormatter per call cost more than the call.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[0].hasSuffix(","), let day = Int(parts[1]),
              let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let h = Int(clock[0]), let m = Int(clock[1]), let s = Int(clock[2]),
              (0...9999).contains(year), (1...31).contains(day), h < 24, m < 60, s < 61 else { return nil }
        return ISOTimestamp.date(year: year, month: monthIndex + 1, day: day, hour: h, minute: m, second: s)
    }
}
