import Foundation

/// Evaluates a filter against a resource (RFC 7644 §3.4.2.2): attribute names ignore case; strings compare
/// ignoring case unless the attribute is case-exact; a multi-valued attribute matches when any value does, and a
/// complex multi-valued attribute compared without a sub-attribute compares its `value`s; `gt`/`ge`/`lt`/`le` order
/// dates as instants, numbers as numbers, strings lexically, and refuse booleans and null (400 `invalidFilter`).
public enum FilterEvaluator {
    public static func matches(_ filter: Filter, _ resource: JSON) throws(SCIMError) -> Bool {
        switch filter {
        case .and(let l, let r):
            guard try matches(l, resource) else { return false }
            return try matches(r, resource)
        case .or(let l, let r):
            if try matches(l, resource) { return true }
            return try matches(r, resource)
        case .not(let f): return try !matches(f, resource)
        case .present(let path):
            return values(path, in: resource).contains { v in
                switch v {
                case .null: false
                case .string(let s): !s.isEmpty
                case .array(let a): !a.isEmpty
                case .object(let o): !o.isEmpty
                default: true
                }
            }
        case .compare(let path, let op, let value):
            let exact = SCIMSchema.caseExact.contains(path.key)
            for v in values(path, in: resource) where try compare(v, op, value, caseExact: exact) { return true }
            return false
        case .valuePath(let path, let inner):
            let container = path.extensionSchema.map { resource[$0] ?? .null } ?? resource
            guard let attribute = container[path.name] else { return false }
            let elements = attribute.array ?? [attribute]
            for element in elements where try matches(inner, element) { return true }
            return false
        }
    }

    /// The values a path names in a resource, flattened over multi-valued attributes.
    static func values(_ path: AttributePath, in resource: JSON) -> [JSON] {
        let container = path.extensionSchema.map { resource[$0] ?? .null } ?? resource
        guard let attribute = container[path.name] else { return [] }
        let elements = attribute.array ?? [attribute]
        if let sub = path.sub {
            return elements.compactMap { $0[sub] }
        }
        // A complex multi-valued attribute without a sub-attribute: its elements' `value`.
        return elements.map { $0.object != nil ? ($0["value"] ?? .null) : $0 }
    }

    static func compare(_ actual: JSON, _ op: Filter.Op, _ expected: JSON, caseExact: Bool) throws(SCIMError) -> Bool {
        switch (actual, expected) {
        case (.string(let a), .string(let e)):
            if [.gt, .ge, .lt, .le].contains(op), let da = SCIMDate.parse(a), let de = SCIMDate.parse(e) {
                return order(da, de, op)
            }
            let (x, y) = caseExact ? (a, e) : (a.lowercased(), e.lowercased())
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .co: return x.contains(y)
            case .sw: return x.hasPrefix(y)
            case .ew: return x.hasSuffix(y)
            case .gt, .ge, .lt, .le: return order(x, y, op)
            }
        case (.number(let a), .number(let e)):
            switch op {
            case .eq: return a == e
            case .ne: return a != e
            case .gt, .ge, .lt, .le: return order(a, e, op)
            case .co, .sw, .ew: throw .badRequest(.invalidFilter, "\(op.rawValue) does not apply to a number")
            }
        case (.bool(let a), .bool(let e)):
            switch op {
            case .eq: return a == e
            case .ne: return a != e
            default: throw .badRequest(.invalidFilter, "\(op.rawValue) does not apply to a boolean")
            }
        case (.string(let a), .bool(let e)) where ["true", "false"].contains(a.lowercased()):
            // Entra ID's "True" / "False" strings, stored as sent by an older client.
            return try compare(.bool(a.lowercased() == "true"), op, .bool(e), caseExact: true)
        case (_, .null):
            switch op {
            case .eq: return actual == .null
            case .ne: return actual != .null
            default: throw .badRequest(.invalidFilter, "\(op.rawValue) does not apply to null")
            }
        default:
            if case .bool = expected, ![.eq, .ne].contains(op) {
                throw .badRequest(.invalidFilter, "\(op.rawValue) does not apply to a boolean")
            }
            return op == .ne
        }
    }

    private static func order<T: Comparable>(_ a: T, _ b: T, _ op: Filter.Op) -> Bool {
        switch op {
        case .gt: a > b
        case .ge: a >= b
        case .lt: a < b
        default: a <= b
        }
    }
}

/// xsd:dateTime as SCIM writes it (RFC 7643 §2.3.5): `2011-05-13T04:42:34Z`, fractions and offsets allowed.
public enum SCIMDate {
    public static func parse(_ text: String) -> Date? {
        guard text.count >= 20, text.dropFirst(4).first == "-", text.dropFirst(10).first == "T" else { return nil }
        let plain = ISO8601DateFormatter()
        if let d = plain.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    public static func string(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
