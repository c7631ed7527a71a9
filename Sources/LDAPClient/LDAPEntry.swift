/// One attribute value as the server sent it: text when the attribute is textual and the bytes are
/// valid UTF-8, raw bytes otherwise (binary attributes such as objectGUID, or text that failed the check).
public enum LDAPValue: Sendable, Hashable {
    case text(String)
    case bytes([UInt8])

    /// The value as text, or nil when it is binary or not valid UTF-8.
    public var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// The value's bytes, whatever its kind.
    public var rawBytes: [UInt8] {
        switch self {
        case .text(let s): return Array(s.utf8)
        case .bytes(let b): return b
        }
    }
}

/// One search result entry: its DN and the values of the requested attributes, by request position.
///
/// `values[i]` holds the values of `SearchRequest.attributes[i]` (empty when the entry has none),
/// so callers never look attributes up by string at run time.
public struct LDAPEntry: Sendable, Equatable {
    public var dn: String
    public var values: [[LDAPValue]]

    public init(dn: String, values: [[LDAPValue]]) {
        self.dn = dn
        self.values = values
    }

    /// The first textual value of the attribute at `index`, if any.
    public func firstText(_ index: Int) -> String? {
        guard index < values.count else { return nil }
        for v in values[index] { if let t = v.text { return t } }
        return nil
    }
}

/// An entry whose values are views into libldap's message, valid only inside the callback that receives it.
public struct LDAPRawEntry {
    public init(dn: String, values: [[UnsafeBufferPointer<UInt8>]]) {
        self.dn = dn
        self.values = values
    }
    public let dn: String
    /// `values[i]` are the values of `SearchRequest.attributes[i]`.
    public let values: [[UnsafeBufferPointer<UInt8>]]
}
