/// The scope of a search (RFC 4511 §4.5.1.2).
public enum SearchScope: String, Sendable, CaseIterable {
    case base, one, sub

    var cValue: Int32 {
        switch self {
        case .base: return 0   // LDAP_SCOPE_BASE
        case .one: return 1    // LDAP_SCOPE_ONELEVEL
        case .sub: return 2    // LDAP_SCOPE_SUBTREE
        }
    }
}

/// An attribute to fetch, and whether its values are binary (kept as bytes, never decoded as text).
public struct AttributeRequest: Sendable, Hashable {
    public var name: String
    public var binary: Bool
    public init(_ name: String, binary: Bool = false) {
        self.name = name
        self.binary = binary
    }
}

/// One search: base, scope, filter and the attributes wanted. Always run paged.
public struct SearchRequest: Sendable, Equatable {
    public var base: String
    public var scope: SearchScope
    public var filter: String
    public var attributes: [AttributeRequest]

    public init(base: String, scope: SearchScope, filter: String, attributes: [AttributeRequest]) {
        self.base = base
        self.scope = scope
        self.filter = filter
        self.attributes = attributes
    }
}

/// What a completed search proved: it ran to a final `success` with an empty paged-results cookie.
public struct SearchSummary: Sendable, Equatable {
    public var entries: Int
    public var pages: Int
    public var resultCode: LDAPResultCode
    public init(entries: Int, pages: Int, resultCode: LDAPResultCode) {
        self.entries = entries
        self.pages = pages
        self.resultCode = resultCode
    }
}
