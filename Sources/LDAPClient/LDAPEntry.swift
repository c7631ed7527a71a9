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
    public init(dn: String, values: [[UnsafeBufferPointer<UInt8>]], moreAfter: [Int: Int] = [:]) {
        self.dn = dn
        self.values = values
        self.moreAfter = moreAfter
    }
    public let dn: String
    /// `values[i]` are the values of `SearchRequest.attributes[i]`.
    public let values: [[UnsafeBufferPointer<UInt8>]]
    /// Attributes the server sent only in part (Active Directory's ranged retrieval, `member;range=0-1499`):
    /// slot → the first value index still to fetch, with `NAME;range=N-*`.
    public let moreAfter: [Int: Int]
}

/// Bytes from the wire → String, checking UTF-8. ASCII (nearly every value) takes a fast, non-generic path.
public enum UTF8Text {
    @inline(__always)
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Whether the bytes equal `text`, ignoring ASCII case.
    public static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let other = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for i in 0..<bytes.count {
            var a = bytes[i], b = other[i]
            if a >= 65 && a <= 90 { a += 32 }
            if b >= 65 && b <= 90 { b += 32 }
            if a != b { return false }
        }
        return true
    }

    /// A decimal integer (optional leading minus), or nil.
    public static func int64(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var negative = false
        var value: Int64 = 0
        for (i, b) in bytes.enumerated() {
            if i == 0 && b == UInt8(ascii: "-") && bytes.count > 1 { negative = true; continue }
            guard b >= 48 && b <= 57 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b - 48))
            if o1 || o2 { return nil }
            value = a
        }
        return negative ? -value : value
    }
}
