/// An attribute path (RFC 7644 §3.10): an optional schema URN, an attribute, an optional sub-attribute.
public struct AttributePath: Sendable, Equatable, CustomStringConvertible {
    public var schema: String?
    public var name: String
    public var sub: String?

    public init(schema: String? = nil, _ name: String, sub: String? = nil) {
        self.schema = schema
        self.name = name
        self.sub = sub
    }

    /// `name` or `name.sub`, lower-cased: the key of the schema tables.
    var key: String { (sub.map { "\(name).\($0)" } ?? name).lowercased() }

    /// The extension schema the path names, whose attributes live in an object of their own under that URN (nil
    /// for the core User and Group schemas, or no URN at all).
    var extensionSchema: String? {
        guard let schema, schema.caseInsensitiveCompare(SCIMSchema.user) != .orderedSame,
              schema.caseInsensitiveCompare(SCIMSchema.group) != .orderedSame else { return nil }
        return schema
    }

    public var description: String { (schema.map { $0 + ":" } ?? "") + name + (sub.map { "." + $0 } ?? "") }
}

/// A filter (RFC 7644 §3.4.2.2): comparisons, presence, `and` / `or` / `not`, and value paths (`emails[type eq
/// "work"]`).
public indirect enum Filter: Sendable, Equatable {
    public enum Op: String, Sendable, CaseIterable { case eq, ne, co, sw, ew, gt, ge, lt, le }

    case present(AttributePath)
    case compare(AttributePath, Op, JSON)
    case and(Filter, Filter)
    case or(Filter, Filter)
    case not(Filter)
    /// `attr[filter]`: an element of the multi-valued `attr` matches `filter` (its paths relative to the element).
    case valuePath(AttributePath, Filter)
}

/// A PATCH path (RFC 7644 §3.5.2): `attr`, `attr.sub`, `urn:…:attr`, `attr[filter]` or `attr[filter].sub`.
public struct PatchPath: Sendable, Equatable {
    public var attribute: AttributePath
    public var filter: Filter?
    /// The sub-attribute after a value filter (`addresses[type eq "work"].streetAddress`).
    public var subAfterFilter: String?
}
