import Foundation

/// MixerAI's middleware rate limiter (`src/lib/rate-limit.ts` with the presets of `rate-limit-simple.ts`),
/// reproduced exactly, including its quirks: a fixed window per key; a refused request counts a violation;
/// from the third violation the key is blocked for `window × 2^(violations−3)` (capped at 1 h) — but a key whose
/// window has ended starts afresh, so a block never outlives the window it began in.
public struct RateLimiter: Sendable {
    public enum Bucket: String, Sendable, CaseIterable {
        case auth, api, sensitive
    }

    public struct Preset: Sendable {
        public var limit: Int
        public var window: Double
        public var message: String
    }

    public struct Decision: Sendable {
        public var allowed: Bool
        public var limit: Int
        public var remaining: Int
        public var reset: Date
        public var retryAfter: Int?
        public var message: String
    }

    struct Entry {
        var count: Int
        var resetTime: Date
        var blocked = false
        var blockUntil: Date?
        var violations = 0
    }

    public var presets: [Bucket: Preset]
    private var entries: [String: Entry] = [:]

    public init(sensitiveLimit: Int = 50, sensitiveWindow: Double = 3600, apiLimit: Int = 600, apiWindow: Double = 60,
                authLimit: Int = 20, authWindow: Double = 900) {
        presets = [
            .sensitive: Preset(limit: sensitiveLimit, window: sensitiveWindow,
                               message: "Too many sensitive operations. Please wait an hour."),
            .api: Preset(limit: apiLimit, window: apiWindow, message: "API rate limit exceeded. Please slow down."),
            .auth: Preset(limit: authLimit, window: authWindow,
                          message: "Too many authentication attempts. Please try again in 15 minutes."),
        ]
    }

    /// `getRateLimitType`: any path containing `/api/users/` is sensitive (the list, `/api/users`, is not).
    public static func bucket(for path: String) -> Bucket {
        if path.contains("/auth/") || path.contains("/api/auth/") { return .auth }
        if path.contains("/api/users/") { return .sensitive }
        return .api
    }

    public mutating func reset() { entries.removeAll() }

    /// Spends a bucket's whole window for these keys (a test hook: "0 left, reset `resetIn` seconds away").
    public mutating func exhaust(_ bucket: Bucket, keys: [String], resetIn: Double, now: Date) {
        let preset = presets[bucket]!
        for key in keys {
            entries["\(bucket.rawValue):\(key)"] = Entry(count: preset.limit, resetTime: now.addingTimeInterval(resetIn))
        }
    }

    public mutating func check(_ bucket: Bucket, key: String, now: Date) -> Decision {
        let preset = presets[bucket]!
        let id = "\(bucket.rawValue):\(key)"
        var entry = entries[id] ?? Entry(count: 0, resetTime: now.addingTimeInterval(preset.window))
        if entry.resetTime < now {
            entry = Entry(count: 0, resetTime: now.addingTimeInterval(preset.window))
        }
        if entry.blocked, let until = entry.blockUntil, until > now {
            entries[id] = entry
            return Decision(allowed: false, limit: preset.limit, remaining: 0, reset: until,
                            retryAfter: Int((until.timeIntervalSince(now)).rounded(.up)), message: preset.message)
        }
        if entry.count < preset.limit {
            entry.count += 1
            entries[id] = entry
            return Decision(allowed: true, limit: preset.limit, remaining: max(0, preset.limit - entry.count),
                            reset: entry.resetTime, retryAfter: nil, message: preset.message)
        }
        entry.violations += 1
        if entry.violations >= 3 {
            let block = min(preset.window * pow(2, Double(entry.violations - 3)), 3600)
            entry.blocked = true
            entry.blockUntil = now.addingTimeInterval(block)
        }
        entries[id] = entry
        let until = entry.blocked ? entry.blockUntil! : entry.resetTime
        return Decision(allowed: false, limit: preset.limit, remaining: 0, reset: entry.resetTime,
                        retryAfter: Int(until.timeIntervalSince(now).rounded(.up)), message: preset.message)
    }
}
