/// RFC 4514 distinguished names: escaping values, parsing, and a normalised form for comparison.
///
/// DNs are compared after normalising (attribute types and values case-folded, escapes resolved,
/// insignificant spaces dropped): string-comparing `member` values is a classic source of false
/// "not a member any more" results.
public struct DistinguishedName: Hashable, Sendable, CustomStringConvertible {
    /// One attribute-type-and-value of an RDN (multi-valued RDNs hold several).
    public struct AttributeValue: Hashable, Sendable {
        public var type: String
        public var value: String
    }

    /// The RDNs, most specific first.
    public var rdns: [[AttributeValue]]

    public init(rdns: [[AttributeValue]]) { self.rdns = rdns }

    /// Parses an RFC 4514 string. Returns nil when it is not a valid DN.
    public init?(_ string: String) {
        guard let parsed = DNParser.parse(Array(string.utf8)) else { return nil }
        rdns = parsed
    }

    /// The RFC 4514 string form, every value escaped.
    public var description: String {
        rdns.map { rdn in rdn.map { "\($0.type)=\(Self.escape($0.value))" }.joined(separator: "+") }
            .joined(separator: ",")
    }

    /// The comparison form: types and values lowercased, canonical escaping, no spaces around separators.
    public var normalized: String {
        rdns.map { rdn in
            rdn.map { "\($0.type.lowercased())=\(Self.escape($0.value.lowercased()))" }.sorted().joined(separator: "+")
        }.joined(separator: ",")
    }

    /// Whether this DN is `ancestor` or lies below it (compared normalised).
    public func isWithin(_ ancestor: DistinguishedName) -> Bool {
        guard ancestor.rdns.count <= rdns.count else { return false }
        return DistinguishedName(rdns: Array(rdns.suffix(ancestor.rdns.count))).normalized == ancestor.normalized
    }

    /// Builds a DN one RDN below `parent`, escaping the value (never concatenate raw values into DNs).
    public static func child(type: String, value: String, of parent: String) -> String {
        "\(type)=\(escape(value)),\(parent)"
    }

    /// Escapes an attribute value (RFC 4514 §2.4): `,` `+` `"` `\` `<` `>` `;` `=`, a leading space or `#`,
    /// a trailing space, and every control character (NUL included) as `\XX` — libldap's parser drops an unescaped
    /// leading or trailing CR, LF or tab (found by fuzzing the round trip through `ldap_str2dn`).
    public static func escape(_ value: String) -> String {
        let bytes = Array(value.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 4)
        for (i, b) in bytes.enumerated() {
            switch b {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "\""), UInt8(ascii: "\\"),
                 UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ";"), UInt8(ascii: "="):
                out.append(UInt8(ascii: "\\")); out.append(b)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: Array(LDAPFilter.hex(b).utf8))  // "\\XX"
            case UInt8(ascii: " ") where i == 0 || i == bytes.count - 1:
                out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "#") where i == 0:
                out.append(UInt8(ascii: "\\")); out.append(b)
            default:
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The normalised form of a DN string, or the lowercased input when it does not parse (so that two
    /// equal malformed strings still compare equal, and nothing crashes on bad directory data).
    public static func normalize(_ string: String) -> String {
        var bytes: [UInt8] = []
        normalize(string, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the normalised form's UTF-8 into `out` (replacing its content), without allocating a String.
    ///
    /// Fast path for the common case (no escapes, quotes, `+`, `#`, `<`, `>`, `;`, `=` inside a value, or
    /// non-ASCII): one pass over the bytes. Anything else goes through the full parser.
    public static func normalize(_ string: String, into out: inout [UInt8]) {
        var copy = string
        copy.withUTF8 { normalize(bytes: $0, into: &out) }
    }

    /// `normalize(_:into:)` over UTF-8 bytes (a value straight from the wire).
    public static func normalize(bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var simple = true
        var pendingSpace = false
        var afterSeparator = true
        var inValue = false
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "+"), UInt8(ascii: "#"), UInt8(ascii: "<"),
                 UInt8(ascii: ">"), UInt8(ascii: ";"), 0, 0x80...0xff:
                simple = false
            case UInt8(ascii: "=") where inValue:
                simple = false
            case UInt8(ascii: " "):
                if !afterSeparator { pendingSpace = true }
                continue
            case UInt8(ascii: ","), UInt8(ascii: "="):
                inValue = b == UInt8(ascii: "=")
                pendingSpace = false
                afterSeparator = true
                out.append(b)
                continue
            default:
                break
            }
            if !simple { break }
            if pendingSpace { out.append(UInt8(ascii: " ")); pendingSpace = false }
            afterSeparator = false
            out.append(b >= 65 && b <= 90 ? b + 32 : b)
        }
        if simple { return }
        out.removeAll(keepingCapacity: true)
        let string = String(decoding: bytes, as: UTF8.self)
        out.append(contentsOf: (DistinguishedName(string)?.normalized ?? string.lowercased()).utf8)
    }
}

/// A small RFC 4514 parser over bytes: `type=value` pairs joined by `+` into RDNs, RDNs joined by `,`.
enum DNParser {
    static func parse(_ s: [UInt8]) -> [[DistinguishedName.AttributeValue]]? {
        if s.allSatisfy({ $0 == UInt8(ascii: " ") }) { return [] }
        var rdns: [[DistinguishedName.AttributeValue]] = []
        var rdn: [DistinguishedName.AttributeValue] = []
        var i = 0
        func skipSpaces() { while i < s.count && s[i] == UInt8(ascii: " ") { i += 1 } }
        while true {
            skipSpaces()
            let typeStart = i
            while i < s.count && s[i] != UInt8(ascii: "=") && s[i] != UInt8(ascii: " ") { i += 1 }
            let type = String(decoding: s[typeStart..<i], as: UTF8.self)
            guard !type.isEmpty, type.utf8.allSatisfy({ isTypeChar($0) }) else { return nil }
            skipSpaces()
            guard i < s.count, s[i] == UInt8(ascii: "=") else { return nil }
            i += 1
            skipSpaces()
            var value = [UInt8]()
            if i < s.count && s[i] == UInt8(ascii: "#") {
                // hexstring form: keep as written (it is a BER encoding we do not interpret)
                while i < s.count && s[i] != UInt8(ascii: ",") && s[i] != UInt8(ascii: "+") { value.append(s[i]); i += 1 }
                while value.last == UInt8(ascii: " ") { value.removeLast() }
            } else if i < s.count && s[i] == UInt8(ascii: "\"") {
                i += 1
                while i < s.count && s[i] != UInt8(ascii: "\"") {
                    if s[i] == UInt8(ascii: "\\"), i + 1 < s.count { i += 1 }
                    value.append(s[i]); i += 1
                }
                guard i < s.count else { return nil }
                i += 1
                skipSpaces()
            } else {
                var trailingSpaces = 0
                while i < s.count && s[i] != UInt8(ascii: ",") && s[i] != UInt8(ascii: "+") && s[i] != UInt8(ascii: ";") {
                    if s[i] == UInt8(ascii: "\\") {
                        guard i + 1 < s.count else { return nil }
                        if let h = hexByte(s, i + 1) {
                            value.append(h); i += 3
                        } else {
                            value.append(s[i + 1]); i += 2
                        }
                        trailingSpaces = 0
                        continue
                    }
                    trailingSpaces = s[i] == UInt8(ascii: " ") ? trailingSpaces + 1 : 0
                    value.append(s[i]); i += 1
                }
                value.removeLast(trailingSpaces)
            }
            guard let text = String(validating: value, as: UTF8.self) else { return nil }
            rdn.append(.init(type: type, value: text))
            if i >= s.count {
                rdns.append(rdn)
                return rdns
            }
            if s[i] == UInt8(ascii: "+") {
                i += 1
            } else {
                rdns.append(rdn); rdn = []
                i += 1
            }
        }
    }

    private static func isTypeChar(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
    }

    private static func hexByte(_ s: [UInt8], _ i: Int) -> UInt8? {
        guard i + 1 < s.count, let h = hexValue(s[i]), let l = hexValue(s[i + 1]) else { return nil }
        return h << 4 | l
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
