/// A small JSON reader for MixerAI's list pages. Foundation's JSONDecoder spent a quarter of a 100,000-user dry
/// run building Codable containers; this reads the bytes once into plain values. Strict about syntax (anything
/// malformed is nil, never a partial page), tolerant about content (callers pick the fields they know).
enum JSON: Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([(String, JSON)])

    static func == (l: JSON, r: JSON) -> Bool {
        switch (l, r) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    subscript(key: String) -> JSON? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }

    static func parse(_ bytes: [UInt8]) -> JSON? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(b: buffer)
            guard let value = reader.value() else { return nil }
            reader.skipSpace()
            return reader.i == buffer.count ? value : nil
        }
    }

    private struct Reader {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0
        var depth = 0

        mutating func skipSpace() {
            while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 13 || b[i] == 9 { i += 1 }
        }

        mutating func value() -> JSON? {
            skipSpace()
            guard i < b.count else { return nil }
            switch b[i] {
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string().map(JSON.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString, _ v: JSON) -> JSON? {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { return nil }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { return nil }
            i += n
            return v
        }

        mutating func number() -> JSON? {
            let start = i
            while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == 45 || b[i] == 43 || b[i] == 46 || b[i] == 101 || b[i] == 69 { i += 1 }
            guard i > start, let d = Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else { return nil }
            return .number(d)
        }

        mutating func string() -> String? {
            i += 1  // the opening quote
            let start = i
            var plain = true
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") { plain = false; i += 2; continue }
                if b[i] < 0x20 { return nil }
                i += 1
            }
            guard i < b.count else { return nil }
            defer { i += 1 }
            if plain { return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self) }
            return unescape(start, i)
        }

        func unescape(_ start: Int, _ end: Int) -> String? {
            var out: [UInt8] = []
            out.reserveCapacity(end - start)
            var k = start
            var pendingHigh: UInt32?
            while k < end {
                let c = b[k]
                guard c == UInt8(ascii: "\\") else { out.append(c); k += 1; continue }
                guard k + 1 < end else { return nil }
                let e = b[k + 1]
                k += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    guard k + 4 <= end, let unit = UInt32(String(decoding: UnsafeBufferPointer(rebasing: b[k..<k + 4]), as: UTF8.self), radix: 16) else { return nil }
                    k += 4
                    var scalarValue = unit
                    if (0xD800..<0xDC00).contains(unit) { pendingHigh = unit; continue }
                    if (0xDC00..<0xE000).contains(unit) {
                        guard let high = pendingHigh else { return nil }
                        scalarValue = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                    }
                    pendingHigh = nil
                    guard let scalar = Unicode.Scalar(scalarValue) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func array() -> JSON? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { return nil }
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                guard let v = value() else { return nil }
                items.append(v)
                skipSpace()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                return nil
            }
        }

        mutating func object() -> JSON? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { return nil }
            i += 1
            var fields: [(String, JSON)] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let v = value() else { return nil }
                fields.append((key, v))
                skipSpace()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                return nil
            }
        }
    }
}

extension MixerUser {
    /// A list record from the reader above; nil without an id (the same rule as the Decodable path). The record's
    /// fields are walked once (a lookup per field would scan them all again for each).
    init?(json: JSON) {
        guard case .object(let fields) = json else { return nil }
        var id, email, fullName, jobTitle, company, role, globalRole, createdAt, lastSignIn, status: String?
        var permissions: [BrandPermission] = []
        var seen = Set<String>()
        for (key, value) in fields where seen.insert(key).inserted {  // the first of a repeated key, as before
            switch key {
            case "id": id = value.string
            case "email": email = value.string
            case "full_name": fullName = value.string
            case "job_title": jobTitle = value.string
            case "company": company = value.string
            case "role": role = value.string
            case "global_role": globalRole = value.string
            case "created_at": createdAt = value.string
            case "last_sign_in_at": lastSignIn = value.string
            case "user_status": status = value.string
            case "brand_permissions":
                permissions = (value.array ?? []).compactMap { p in
                    guard let brandId = p["brand_id"]?.string else { return nil }
                    return BrandPermission(brandId: brandId, role: p["role"]?.string ?? "viewer", brandName: p["brand"]?["name"]?.string)
                }
            default: continue
            }
        }
        guard let id else { return nil }
        self.init(id: id, email: email, fullName: fullName, jobTitle: jobTitle, company: company, role: role,
                  globalRole: globalRole, createdAt: createdAt, lastSignInAt: lastSignIn, userStatus: status,
                  brandPermissions: permissions)
    }
}
