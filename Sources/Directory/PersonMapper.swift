import LDAPClient
import Reconcile

/// Turns a user entry into a `Person`: attribute mapping, anchor, normalised email, full name, and the
/// leaver evidence the entry itself carries (account locks).
struct PersonMapper {
    /// Which request slot holds each mapped field (attributes named twice share one slot).
    struct Slots {
        var anchor = 0, email = 0, givenName = 0, surname = 0, fullName = 0, jobTitle = 0, company = 0
        var department = 0, uid = 0
        var pwdAccountLockedTime: Int?, nsAccountLock: Int?, userAccountControl: Int?, accountExpires: Int?
    }

    let map: AttributeMap
    let attributes: [AttributeRequest]
    let slots: Slots
    let accountLock: Bool
    /// Now as a Windows FILETIME (100 ns since 1601), for accountExpires.
    let nowFileTime: Int64

    init(map: AttributeMap, accountLock: Bool, nowUnixSeconds: Int64) {
        self.map = map
        self.accountLock = accountLock
        self.nowFileTime = (nowUnixSeconds + 11_644_473_600) * 10_000_000
        var names: [AttributeRequest] = []
        func slot(_ name: String, binary: Bool = false) -> Int {
            if let i = names.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) { return i }
            names.append(AttributeRequest(name, binary: binary))
            return names.count - 1
        }
        var s = Slots()
        s.anchor = slot(map.anchor, binary: map.anchorIsBinary)
        s.email = slot(map.email)
        s.givenName = slot(map.givenName)
        s.surname = slot(map.surname)
        s.fullName = slot(map.fullName)
        s.jobTitle = slot(map.jobTitle)
        s.company = slot(map.company)
        s.department = slot(map.department)
        s.uid = slot(map.uid)
        if accountLock {
            s.pwdAccountLockedTime = slot("pwdAccountLockedTime")
            s.nsAccountLock = slot("nsAccountLock")
            s.userAccountControl = slot("userAccountControl")
            s.accountExpires = slot("accountExpires")
        }
        attributes = names
        slots = s
    }

    enum Outcome {
        case person(Person, problems: [SnapshotProblem])
        /// The entry has no usable anchor: the read cannot prove who is present, so it is incomplete.
        case noAnchor(String)
    }

    /// `rules` is passed in so that every person of one search shares one array.
    func map(_ entry: LDAPRawEntry, rules: [String]) -> Outcome {
        guard let anchor = anchorText(entry.values[slots.anchor].first) else { return .noAnchor(entry.dn) }
        var problems: [SnapshotProblem] = []
        func text(_ slot: Int, _ name: String) -> String? {
            for bytes in entry.values[slot] {
                guard let value = UTF8Text.decode(bytes) else {
                    problems.append(.invalidText(dn: entry.dn, attribute: name))
                    continue
                }
                let trimmed = Self.trim(value)
                if !trimmed.isEmpty { return trimmed }
            }
            return nil
        }
        let email = text(slots.email, map.email).flatMap(EmailAddress.normalize)
        if email == nil { problems.append(.missingEmail(dn: entry.dn)) }
        let given = text(slots.givenName, map.givenName)
        let surname = text(slots.surname, map.surname)
        var full = text(slots.fullName, map.fullName)
        if full == nil {
            let parts = [given, surname].compactMap { $0 }
            if !parts.isEmpty { full = parts.joined(separator: " ") }
        }
        let person = Person(anchor: anchor, dn: entry.dn, email: email, givenName: given, surname: surname,
                            fullName: full, jobTitle: text(slots.jobTitle, map.jobTitle),
                            company: text(slots.company, map.company),
                            department: text(slots.department, map.department), uid: text(slots.uid, map.uid),
                            leaverEvidence: isLocked(entry) ? [.accountLock] : [], rules: rules)
        return .person(person, problems: problems)
    }

    /// For searches that fetch only the anchor (the disabled-filter matches): the anchor, or nil.
    func anchorOnly(_ entry: LDAPRawEntry) -> String? {
        anchorText(entry.values.first?.first)
    }

    private func anchorText(_ value: UnsafeBufferPointer<UInt8>?) -> String? {
        guard let value else { return nil }
        if map.anchorIsBinary { return ObjectGUID.canonical(Array(value)) }
        guard let raw = UTF8Text.decode(value) else { return nil }
        let text = Self.trim(raw)
        return text.isEmpty ? nil : text
    }

    /// Account-lock evidence. A timed ppolicy lockout (failed passwords) expires by itself and is not
    /// evidence of leaving; only the administrative lock value `000001010000Z` is.
    func isLocked(_ entry: LDAPRawEntry) -> Bool {
        guard accountLock else { return false }
        if let slot = slots.pwdAccountLockedTime,
           entry.values[slot].contains(where: { UTF8Text.equalsIgnoringCase($0, "000001010000Z") }) {
            return true
        }
        if let slot = slots.nsAccountLock, entry.values[slot].contains(where: { UTF8Text.equalsIgnoringCase($0, "true") }) {
            return true
        }
        if let slot = slots.userAccountControl, let raw = entry.values[slot].first, let flags = UTF8Text.int64(raw),
           flags & 0x2 != 0 {
            return true
        }
        if let slot = slots.accountExpires, let raw = entry.values[slot].first, let expires = UTF8Text.int64(raw),
           expires != 0, expires != Int64.max, expires < nowFileTime {
            return true
        }
        return false
    }

    /// Trims ASCII and Unicode whitespace at both ends; returns the string itself when there is none.
    static func trim(_ s: String) -> String {
        guard let firstByte = s.utf8.first, let lastByte = s.utf8.last else { return s }
        // Fast path: an ASCII non-space byte at both ends means nothing to trim.
        if firstByte > 0x20 && firstByte < 0x80 && lastByte > 0x20 && lastByte < 0x80 { return s }
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last,
              first.properties.isWhitespace || last.properties.isWhitespace else { return s }
        var scalars = Substring(s).unicodeScalars
        while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
