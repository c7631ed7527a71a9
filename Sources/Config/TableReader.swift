import TOMLKit

/// Reads one TOML table against the keys we know: every read marks a key as known, wrong types are
/// errors naming the key and its line, and `finish()` rejects whatever is left (unknown keys).
final class TableReader {
    let table: TOMLTable
    /// The dotted path of this table (`directory.attributes`, `roles[1]`); empty for the root.
    let path: String
    private let context: ParseContext
    private var known: Set<String> = []

    init(_ table: TOMLTable, path: String, context: ParseContext) {
        self.table = table
        self.path = path
        self.context = context
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String?, _ message: String) -> ConfigError {
        let full = key.map(keyPath) ?? (path.isEmpty ? nil : path)
        return ConfigError(file: context.file, line: full.flatMap { context.locator.line(of: $0) }, key: full,
                           message: message)
    }

    private func value(_ key: String) -> TOMLValueConvertible? {
        known.insert(key)
        return table[key]
    }

    private func typeMismatch(_ key: String, expected: String, found: TOMLValueConvertible) -> ConfigError {
        error(key, "expected \(expected), found \(Self.describe(found.type))")
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .date, .time, .dateTime: return "a date or time"
        }
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard v.type == .string, let s = v.string else { throw typeMismatch(key, expected: "a string", found: v) }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw error(key, "is required") }
        guard !s.trimmingCharacters(in: " \t").isEmpty else { throw error(key, "must not be empty") }
        return s
    }

    func int(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard v.type == .int, let i = v.int else { throw typeMismatch(key, expected: "an integer", found: v) }
        if let range, !range.contains(i) {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(i)")
        }
        return i
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard v.type == .bool, let b = v.bool else { throw typeMismatch(key, expected: "a boolean (true or false)", found: v) }
        return b
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        guard v.type == .array, let array = v.array else { throw typeMismatch(key, expected: "an array of strings", found: v) }
        return try array.map { item in
            guard item.type == .string, let s = item.string else {
                throw error(key, "expected an array of strings, found an element that is \(Self.describe(item.type))")
            }
            return s
        }
    }

    /// A string or an array of strings (e.g. `url` with failover).
    func stringOrArray(_ key: String) throws -> [String]? {
        guard let v = table[key] else { known.insert(key); return nil }
        if v.type == .string { return try string(key).map { [$0] } }
        guard v.type == .array else { known.insert(key); throw typeMismatch(key, expected: "a string or an array of strings", found: v) }
        return try stringArray(key)
    }

    func duration(_ key: String) throws -> Duration? {
        guard let text = try string(key) else { return nil }
        guard let d = DurationText.parse(text) else {
            throw error(key, "expected a duration such as \"30s\", \"15m\" or \"24h\", found \"\(text)\"")
        }
        return d
    }

    func oneOf<T>(_ key: String, _ options: [(String, T)]) throws -> T? {
        guard let text = try string(key) else { return nil }
        guard let match = options.first(where: { $0.0 == text }) else {
            throw error(key, "must be one of \(options.map { "\"\($0.0)\"" }.joined(separator: ", ")), found \"\(text)\"")
        }
        return match.1
    }

    func subtable(_ key: String) throws -> TableReader? {
        guard let v = value(key) else { return nil }
        guard v.type == .table, let t = v.table else { throw typeMismatch(key, expected: "a table", found: v) }
        return TableReader(t, path: keyPath(key), context: context)
    }

    func arrayOfTables(_ key: String) throws -> [TableReader]? {
        guard let v = value(key) else { return nil }
        guard v.type == .array, let array = v.array else {
            throw typeMismatch(key, expected: "an array of tables ([[\(keyPath(key))]])", found: v)
        }
        return try array.enumerated().map { index, item in
            guard item.type == .table, let t = item.table else {
                throw error(key, "expected an array of tables ([[\(keyPath(key))]])")
            }
            return TableReader(t, path: "\(keyPath(key))[\(index)]", context: context)
        }
    }

    /// Whether the table has the key at all (whatever its type).
    func has(_ key: String) -> Bool { table[key] != nil }

    /// Refuses a secret written inline, pointing at the `_file` key to use instead.
    func refuseInline(_ key: String, use fileKey: String) throws {
        if table[key] != nil {
            known.insert(key)
            throw error(key, "secrets are never accepted inline; put it in a file and set \(fileKey)")
        }
    }

    /// Rejects every key that was never asked for.
    func finish() throws {
        for key in table.keys.sorted() where !known.contains(key) {
            throw error(key, "unknown key")
        }
    }
}

/// What every reader of one file shares.
struct ParseContext {
    let file: String
    let locator: KeyLocator
}

/// Durations as the configuration writes them: an integer and a unit (`ms`, `s`, `m`, `h`, `d`).
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, ms) in units where t.hasSuffix(unit) {
            let number = t.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy(\.isNumber), let n = Int64(number), n > 0 else { return nil }
            let (product, overflow) = n.multipliedReportingOverflow(by: ms)
            return overflow ? nil : .milliseconds(product)
        }
        return nil
    }
}
