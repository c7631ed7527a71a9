import CLDAP
import Glibc

/// Active Directory's DirSync control (1.2.840.113556.1.4.841, [MS-ADTS] 3.1.1.3.4.1.3): a search from the
/// naming context's root that returns only the objects changed since a cookie, deletions included when the
/// account may see them. With the object-security flag the bind account needs no replication right, only read
/// access to what it reads.
public struct DirSyncPage: Sendable, Equatable {
    /// The DNs returned (changed, created, deleted or moved objects matching the filter).
    public var changed: [String]
    /// The cookie to send next time (opaque bytes, kept by the caller).
    public var cookie: [UInt8]
}

extension LDAPConnection {
    /// Flags: object security (read rights suffice). Windows and Samba both honour it.
    public static let dirSyncFlags: Int32 = 0x1

    /// Every object changed since `cookie` (nil: every object, to obtain a first cookie) under `base` matching
    /// `filter`, through as many DirSync rounds as the server says are still to come. An object is returned when
    /// one of `attributes` changed, so they must name what matters (and `isDeleted` for deletions).
    public func dirSync(base: String, filter: String, attributes: [String], cookie: [UInt8]?,
                        deadline: ContinuousClock.Instant) throws -> DirSyncPage {
        var page = DirSyncPage(changed: [], cookie: cookie ?? [])
        let request = SearchRequest(base: base, scope: .sub, filter: filter,
                                    attributes: attributes.map { AttributeRequest($0) })
        while true {
            var control: UnsafeMutablePointer<LDAPControl>?
            let rc = page.cookie.withUnsafeBufferPointer { buffer -> Int32 in
                var bv = berval(bv_len: ber_len_t(buffer.count),
                                bv_val: UnsafeMutablePointer(mutating: buffer.baseAddress.map {
                                    UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }))
                return ldap_create_dirsync_control(rawHandle, Self.dirSyncFlags, 0, &bv, &control)
            }
            guard rc == LDAP_SUCCESS, let control else { throw LDAPCalls.error(rawHandle, code: rc, operation: .search, base: base) }
            defer { LDAPCalls.freeControl(control) }
            let msgid = try LDAPCalls.startSearch(rawHandle, request, control: control, timeout: timeout)
            let more = try collectDirSync(msgid, base: base, deadline: deadline, page: &page)
            if !more { return page }
        }
    }

    /// One DirSync round's messages: entries' DNs into `page`, the new cookie from the result; true when more.
    private func collectDirSync(_ msgid: Int32, base: String, deadline: ContinuousClock.Instant,
                                page: inout DirSyncPage) throws -> Bool {
        while true {
            let now = ContinuousClock.now
            guard now < deadline else {
                LDAPCalls.abandon(rawHandle, msgid: msgid)
                throw LDAPError(code: .deadlineExceeded, operation: .search, message: "DirSync did not finish before its deadline", base: base)
            }
            guard let (type, message) = try LDAPCalls.nextMessage(rawHandle, msgid: msgid, timeout: Swift.min(timeout, now.duration(to: deadline)),
                                                                   base: base, entries: page.changed.count) else {
                LDAPCalls.abandon(rawHandle, msgid: msgid)
                throw LDAPError(code: .timeout, operation: .search, message: "no answer from the server within \(timeout)", base: base)
            }
            defer { LDAPCalls.freeMessage(message) }
            switch type {
            case Int32(LDAP_RES_SEARCH_ENTRY):
                if let dn = ldap_get_dn(rawHandle, message) {
                    page.changed.append(String(cString: dn))
                    ldap_memfree(dn)
                }
            case Int32(LDAP_RES_SEARCH_REFERENCE):
                continue  // other partitions: DirSync covers this naming context only
            case Int32(LDAP_RES_SEARCH_RESULT):
                return try parseDirSyncDone(message, base: base, page: &page)
            default:
                LDAPCalls.abandon(rawHandle, msgid: msgid)
                throw LDAPError(code: .protocolError, operation: .search, message: "unexpected message type \(type) in DirSync", base: base)
            }
        }
    }

    private func parseDirSyncDone(_ message: OpaquePointer, base: String, page: inout DirSyncPage) throws -> Bool {
        var code: Int32 = 0
        var text: UnsafeMutablePointer<CChar>?
        var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        let rc = ldap_parse_result(rawHandle, message, &code, nil, &text, nil, &controls, 0)
        defer {
            if let text { ldap_memfree(text) }
            if let controls { ldap_controls_free(controls) }
        }
        guard rc == LDAP_SUCCESS else { throw LDAPCalls.error(rawHandle, code: rc, operation: .search, base: base) }
        guard code == LDAP_SUCCESS else {
            throw LDAPError(code: LDAPResultCode(rawValue: code), operation: .search, message: "DirSync refused",
                            diagnostic: text.map { String(cString: $0) }, base: base)
        }
        var cookie = berval()
        var more: Int32 = 0
        var found: Int32 = 0
        let prc = cldap_dirsync_cookie(rawHandle, controls, &cookie, &more, &found)
        defer { if let value = cookie.bv_val { ber_memfree(value) } }
        guard prc == LDAP_SUCCESS, found != 0, let value = cookie.bv_val, cookie.bv_len > 0 else {
            throw LDAPError(code: .protocolError, operation: .search, message: "the server did not answer the DirSync control", base: base)
        }
        page.cookie = Array(UnsafeRawBufferPointer(start: value, count: Int(cookie.bv_len)))
        return more != 0
    }
}
