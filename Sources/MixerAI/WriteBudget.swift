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
    mutating func update(limit: String?, remaining: String?, reset: String?, serverDate: Date?, now: Date) {
        if let l = limit.flatMap(Int.init) { self.limit = l }
        if let r = remaining.flatMap(Int.init) {
            self.remaining = r
        }
        if let text = reset, let at = ISODate.parse(text) {
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

/// Parses ISO-8601 times with or without fractional seconds.
enum ISODate {
    static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}

/// `Retry-After`: delta-seconds, or an HTTP-date computed against the response's own Date header.
enum RetryAfter {
    static func seconds(_ value: String?, serverDate: Date?) -> TimeInterval? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let s = Int(value) { return TimeInterval(max(0, s)) }
        guard let date = HTTPDate.parse(value) else { return nil }
        return max(0, date.timeIntervalSince(serverDate ?? Date()))
    }
}

enum HTTPDate {
    static func parse(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: text)
    }
}
