/// RFC 4515 filter building. Every value that comes from configuration or from the directory goes
/// through `escape` before it is placed in a filter: `*)(uid=*` must match itself, never everyone.
public enum LDAPFilter {
    /// Escapes a value for use inside a filter assertion (RFC 4515 §3): `*` `(` `)` `\` NUL, and every
    /// byte outside printable ASCII, become `\xx`.
    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0:
                out += hex(byte)
            case 0x20...0x7e:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += hex(byte)
            }
        }
        return out
    }

    /// `(attribute=value)` with the value escaped.
    public static func equality(_ attribute: String, _ value: String) -> String {
        "(\(attribute)=\(escape(value)))"
    }

    /// `(&f1 f2 …)`; a single filter is returned as is.
    public static func and(_ filters: [String]) -> String {
        filters.count == 1 ? filters[0] : "(&" + filters.joined() + ")"
    }

    /// `(|f1 f2 …)`; a single filter is returned as is.
    public static func or(_ filters: [String]) -> String {
        filters.count == 1 ? filters[0] : "(|" + filters.joined() + ")"
    }

    /// Wraps a configured filter in parentheses when the user wrote it without them.
    public static func normalized(_ filter: String) -> String {
        let trimmed = filter.trimmingSpaces
        return trimmed.hasPrefix("(") ? trimmed : "(\(trimmed))"
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
