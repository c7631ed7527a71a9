/// Go's `time.ParseDuration` grammar, which GoTrue applies to `ban_duration` (`supabase/auth`,
/// `internal/api/admin.go`): an optional sign, then one or more decimal numbers (a fraction allowed) each with a
/// unit — `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`. `"0"` alone is allowed; there is no day unit. Pure: the
/// configuration checks `[supabase] ban_duration` with it and the sandbox answers exactly as GoTrue would.
public enum GoDuration {
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        /// Go's own wording (`time: invalid duration "x"`, `time: missing unit in duration "5"`, …).
        public let description: String
    }

    static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// The duration in seconds, or Go's error.
    public static func parse(_ text: String) throws(Invalid) -> Double {
        let quoted = "\"" + text + "\""
        var rest = Substring(text)
        var negative = false
        if let first = rest.first, first == "-" || first == "+" {
            negative = first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw Invalid(description: "time: invalid duration " + quoted) }
        var nanos = 0.0
        while !rest.isEmpty {
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction = Substring("")
            var dot = false
            if rest.first == "." {
                dot = true
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !(whole.isEmpty && fraction.isEmpty) else { throw Invalid(description: "time: invalid duration " + quoted) }
            _ = dot
            let unitText = rest.prefix { $0 != "." && !($0.isASCII && $0.isNumber) }
            rest = rest.dropFirst(unitText.count)
            guard !unitText.isEmpty else { throw Invalid(description: "time: missing unit in duration " + quoted) }
            guard let scale = units.first(where: { $0.0 == unitText })?.1 else {
                throw Invalid(description: "time: unknown unit \"\(unitText)\" in duration " + quoted)
            }
            let value = Double(String(whole.isEmpty ? "0" : whole) + "." + String(fraction.isEmpty ? "0" : fraction)) ?? 0
            nanos += value * scale
            // Go counts in int64 nanoseconds: about 292 years.
            guard nanos <= 9_223_372_036_854_775_807 else { throw Invalid(description: "time: invalid duration " + quoted) }
        }
        return (negative ? -nanos : nanos) / 1e9
    }
}
