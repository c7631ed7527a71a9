/// Reads a page of MixerAI's user list straight from its bytes into `MixerUser`s, in one pass. Foundation's
/// JSONDecoder spent a quarter of a 100,000-user dry run building Codable containers, and a tree of every value
/// (avatar URLs, flags, nested brands) cost a microsecond per field more: here the fields mixer-sync reads become
/// strings and everything else is only checked and skipped. Strict about syntax (anything malformed is nil, never a
/// partial page), tolerant about content (unknown fields are skipped; a known field of another type reads as absent;
/// the first of a repeated key counts).
struct UserPageReader {
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    /// The records of `data`; nil when the page is not JSON, `data` is not an array, or a record has no id.
    static func users(_ buffer: UnsafeBufferPointer<UInt8>) -> [MixerUser]? {
        var reader = UserPageReader(b: buffer)
        reader.skipSpace()
        var users: [MixerUser]?
        var sawData = false
        let ok = reader.object { r, key in
            guard !sawData, r.key(key, is: "data") else { return r.skipValue() }
            sawData = true
            var list: [MixerUser] = []
            list.reserveCapacity(100)
            let read = r.array { r in
                guard let user = r.user() else { return false }
                list.append(user)
                return true
            }
            users = list
            return read
        }
        reader.skipSpace()
        return ok && reader.i == buffer.count ? users : nil
    }

    private init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    // MARK: - The record

    private mutating func user() -> MixerUser? {
        var id, email, fullName, jobTitle, company, role, globalRole, createdAt, lastSignIn, status: String?
        var permissions: [MixerUser.BrandPermission] = []
        var seen: UInt16 = 0
        let ok = object { r, key in
            func first(_ bit: UInt16) -> Bool {
                defer { seen |= bit }
                return seen & bit == 0
            }
            if r.key(key, is: "id"), first(1) { return r.string(into: &id) }
            if r.key(key, is: "email"), first(2) { return r.string(into: &email) }
            if r.key(key, is: "full_name"), first(4) { return r.string(into: &fullName) }
            if r.key(key, is: "job_title"), first(8) { return r.string(into: &jobTitle) }
            if r.key(key, is: "company"), first(16) { return r.string(into: &company) }
            if r.key(key, is: "role"), first(32) { return r.string(into: &role) }
            if r.key(key, is: "global_role"), first(64) { return r.string(into: &globalRole) }
            if r.key(key, is: "created_at"), first(128) { return r.string(into: &createdAt) }
            if r.key(key, is: "last_sign_in_at"), first(256) { return r.string(into: &lastSignIn) }
            if r.key(key, is: "user_status"), first(512) { return r.string(into: &status) }
            if r.key(key, is: "brand_permissions"), first(1024) {
                guard r.peek == UInt8(ascii: "[") else { return r.skipValue() }
                return r.array { r in r.permission(into: &permissions) }
            }
            return r.skipValue()
        }
        guard ok else { return nil }
        guard let id else { return nil }
        return MixerUser(id: id, email: email, fullName: fullName, jobTitle: jobTitle, company: company, role: role,
                         globalRole: globalRole, createdAt: createdAt, lastSignInAt: lastSignIn, userStatus: status,
                         brandPermissions: permissions)
    }

    /// One `brand_permissions` item, appended when it is an object with a brand_id; false when malformed.
    private mutating func permission(into list: inout [MixerUser.BrandPermission]) -> Bool {
        guard peek == UInt8(ascii: "{") else { return skipValue() }
        var brandId, role, brandName: String?
        var seen: UInt8 = 0
        let ok = object { r, key in
            func first(_ bit: UInt8) -> Bool {
                defer { seen |= bit }
                return seen & bit == 0
            }
            if r.key(key, is: "brand_id"), first(1) { return r.string(into: &brandId) }
            if r.key(key, is: "role"), first(2) { return r.string(into: &role) }
            if r.key(key, is: "brand"), first(4) {
                guard r.peek == UInt8(ascii: "{") else { return r.skipValue() }
                var named = false
                return r.object { r, key in
                    guard !named, r.key(key, is: "name") else { return r.skipValue() }
                    named = true
                    return r.string(into: &brandName)
                }
            }
            return r.skipValue()
        }
        if ok, let brandId { list.append(MixerUser.BrandPermission(brandId: brandId, role: role ?? "viewer", brandName: brandName)) }
        return ok
    }

    // MARK: - JSON, checked as it is read

    private struct Key {
        var start: Int, end: Int
        /// Only for a key written with escapes (then compared as text).
        var text: String?
    }

    private var peek: UInt8? { i < b.count ? b[i] : nil }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 13 || b[i] == 9 { i += 1 }
    }

    private func key(_ key: Key, is name: StaticString) -> Bool {
        if let text = key.text { return text == name.description }
        let n = name.utf8CodeUnitCount
        guard key.end - key.start == n else { return false }
        for k in 0..<n where b[key.start + k] != name.utf8Start[k] { return false }
        return true
    }

    /// `{ "key": value, … }`: `field` reads each value (the reader is at its first byte) and says whether it was valid.
    private mutating func object(_ field: (inout UserPageReader, Key) -> Bool) -> Bool {
        guard peek == UInt8(ascii: "{") else { return false }
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { return false }
        i += 1
        skipSpace()
        if peek == UInt8(ascii: "}") { i += 1; return true }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\""), let (start, end, escaped) = stringBounds() else { return false }
            var key = Key(start: start, end: end)
            if escaped { guard let text = unescape(start, end) else { return false }; key.text = text }
            skipSpace()
            guard peek == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < b.count, field(&self, key) else { return false }
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"): i += 1; return true
            default: return false
            }
        }
    }

    /// `[ value, … ]`: `element` reads each value (the reader is at its first byte).
    private mutating func array(_ element: (inout UserPageReader) -> Bool) -> Bool {
        guard peek == UInt8(ascii: "[") else { return false }
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { return false }
        i += 1
        skipSpace()
        if peek == UInt8(ascii: "]") { i += 1; return true }
        while true {
            skipSpace()
            guard i < b.count, element(&self) else { return false }
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"): i += 1; return true
            default: return false
            }
        }
    }

    /// A field mixer-sync reads as text: a string, or absent (nil) when the value is of another type.
    private mutating func string(into out: inout String?) -> Bool {
        guard peek == UInt8(ascii: "\"") else { out = nil; return skipValue() }
        guard let (start, end, escaped) = stringBounds() else { return false }
        if escaped {
            guard let text = unescape(start, end) else { return false }
            out = text
        } else {
            out = String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
        }
        return true
    }

    private mutating func skipValue() -> Bool {
        switch peek {
        case UInt8(ascii: "{"): return object { r, _ in r.skipValue() }
        case UInt8(ascii: "["): return array { r in r.skipValue() }
        case UInt8(ascii: "\""):
            guard let (start, end, escaped) = stringBounds() else { return false }
            return !escaped || unescape(start, end) != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case nil: return false
        default: return number()
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    private mutating func number() -> Bool {
        let start = i
        while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == 45 || b[i] == 43 || b[i] == 46 || b[i] == 101 || b[i] == 69 { i += 1 }
        return i > start && Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) != nil
    }

    /// The bytes between a string's quotes (the reader is at the opening quote and ends past the closing one), and
    /// whether it holds escapes; nil when unterminated or holding a control character.
    private mutating func stringBounds() -> (Int, Int, Bool)? {
        i += 1
        let start = i
        var escaped = false
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            if b[i] == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
            if b[i] < 0x20 { return nil }
            i += 1
        }
        guard i < b.count else { return nil }
        i += 1
        return (start, i - 1, escaped)
    }

    private func unescape(_ start: Int, _ end: Int) -> String? {
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
}
