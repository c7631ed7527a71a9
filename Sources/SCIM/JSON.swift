import Foundation

/// A JSON value as SCIM carries it (RFC 7644 §3.1): resources, filters' comparison values and PATCH values.
public enum JSON: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses a request body; anything that is not JSON is SCIM's `invalidSyntax`.
    public static func parse(_ data: Data) throws(SCIMError) -> JSON {
        do { return try JSONDecoder().decode(JSON.self, from: data) } catch {
            throw SCIMError(status: 400, scimType: .invalidSyntax, detail: "the body is not valid JSON")
        }
    }

    /// Canonical bytes: keys sorted, so a resource's version (ETag) depends on its content only.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    public var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    public var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }

    /// A member of an object by SCIM's rule: attribute names are case-insensitive (RFC 7643 §2.1).
    public subscript(name: String) -> JSON? {
        guard case .object(let o) = self else { return nil }
        return o[name] ?? o.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension Dictionary where Key == String, Value == JSON {
    /// The key actually used for `name` (attribute names are case-insensitive), if present.
    func key(for name: String) -> String? {
        if self[name] != nil { return name }
        return keys.first { $0.caseInsensitiveCompare(name) == .orderedSame }
    }
}
