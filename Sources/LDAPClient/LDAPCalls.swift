import CLDAP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every libldap call of mixer-sync goes through here, so errors are mapped in one place and named
/// after the C call (swift-system's `Syscalls.swift` habit). Nothing here outlives the call.
enum LDAPCalls {
    /// The text libldap gives for a code (`ldap_err2string`).
    static func message(for code: Int32) -> String {
        guard let text = ldap_err2string(code) else { return "LDAP error \(code)" }
        return String(cString: text)
    }

    /// The diagnostic message the last operation left on the handle (`LDAP_OPT_DIAGNOSTIC_MESSAGE`).
    static func diagnostic(_ ld: OpaquePointer) -> String? {
        guard let raw = cldap_get_string(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE) else { return nil }
        defer { ldap_memfree(raw) }
        return String(cString: raw)
    }

    /// The result code the last failed call left on the handle (`LDAP_OPT_RESULT_CODE`).
    static func lastResultCode(_ ld: OpaquePointer) -> Int32 {
        cldap_get_int(ld, LDAP_OPT_RESULT_CODE)
    }

    static func error(_ ld: OpaquePointer?, code: Int32, operation: LDAPError.Operation, base: String? = nil,
                      entries: Int = 0) -> LDAPError {
        LDAPError(code: LDAPResultCode(rawValue: code), operation: operation, message: message(for: code),
                  diagnostic: ld.flatMap(diagnostic), base: base, entriesBeforeFailure: entries)
    }

    /// `ldap_initialize`: parses the URL; connects lazily on the first operation.
    static func initialize(url: String) throws -> OpaquePointer {
        var ld: OpaquePointer?
        let rc = ldap_initialize(&ld, url)
        guard rc == LDAP_SUCCESS, let handle = ld else {
            throw LDAPError(code: LDAPResultCode(rawValue: rc), operation: .initialize, message: message(for: rc),
                            base: url)
        }
        return handle
    }

    /// `ldap_unbind_ext_s`: closes the connection and frees the handle.
    static func unbind(_ ld: OpaquePointer) {
        _ = ldap_unbind_ext_s(ld, nil, nil)
    }

    /// `ldap_set_option` with an `int` value.
    static func setInt(_ ld: OpaquePointer, _ option: Int32, _ value: Int32) throws {
        try checkOption(ld, option, cldap_set_int(ld, option, value))
    }

    /// `ldap_set_option` with LDAP_OPT_ON / LDAP_OPT_OFF.
    static func setFlag(_ ld: OpaquePointer, _ option: Int32, _ on: Bool) throws {
        try checkOption(ld, option, cldap_set_flag(ld, option, on ? 1 : 0))
    }

    /// `ldap_set_option` with a `struct timeval`.
    static func setTimeout(_ ld: OpaquePointer, _ option: Int32, _ duration: Duration) throws {
        try checkOption(ld, option, cldap_set_timeout(ld, option, duration.clampedMilliseconds))
    }

    /// `ldap_set_option` with a C string.
    static func setString(_ ld: OpaquePointer, _ option: Int32, _ value: String) throws {
        try checkOption(ld, option, cldap_set_string(ld, option, value))
    }

    /// `ldap_set_option(LDAP_OPT_X_TLS_NEWCTX)`: applies the per-handle TLS options set before it.
    static func newTLSContext(_ ld: OpaquePointer) throws {
        let rc = cldap_tls_new_context(ld)
        guard rc == LDAP_OPT_SUCCESS else {
            throw LDAPError(code: .connectError, operation: .setOption,
                            message: "could not create the TLS context (check the CA and client certificate files)",
                            diagnostic: diagnostic(ld))
        }
    }

    private static func checkOption(_ ld: OpaquePointer, _ option: Int32, _ rc: Int32) throws {
        guard rc == LDAP_OPT_SUCCESS else {
            throw LDAPError(code: .paramError, operation: .setOption,
                            message: "ldap_set_option(\(option)) refused", diagnostic: diagnostic(ld))
        }
    }

    /// `ldap_connect`: opens the connection now (for ldaps://, with the TLS handshake), so an unreachable
    /// server fails here — and failover can move on — even when no bind follows.
    static func connect(_ ld: OpaquePointer) throws {
        let rc = ldap_connect(ld)
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .connect) }
    }

    /// `ldap_start_tls_s`: upgrade to TLS; failure is fatal (never a plaintext fallback).
    static func startTLS(_ ld: OpaquePointer) throws {
        let rc = ldap_start_tls_s(ld, nil, nil)
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .startTLS) }
    }

    /// `ldap_sasl_bind_s` with LDAP_SASL_SIMPLE.
    static func simpleBind(_ ld: OpaquePointer, dn: String, password: LDAPPassword) throws {
        let rc = password.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                cldap_simple_bind(ld, dn, chars.baseAddress, ber_len_t(chars.count))
            }
        }
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .bind, base: dn) }
    }

    /// `ldap_sasl_bind_s` with mechanism EXTERNAL.
    static func saslExternalBind(_ ld: OpaquePointer) throws {
        let rc = cldap_sasl_external_bind(ld)
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .bind, base: "SASL EXTERNAL") }
    }

    /// `ldap_create_page_control`: the RFC 2696 request control for one page. Free with `freeControl`.
    static func pageControl(_ ld: OpaquePointer, size: Int, cookie: [UInt8], base: String) throws -> UnsafeMutablePointer<LDAPControl> {
        var control: UnsafeMutablePointer<LDAPControl>?
        let rc = cookie.withUnsafeBufferPointer { buffer -> Int32 in
            var bv = berval(bv_len: ber_len_t(buffer.count),
                            bv_val: UnsafeMutablePointer(mutating: buffer.baseAddress.map {
                                UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }))
            return ldap_create_page_control(ld, ber_int_t(size), &bv, 1, &control)
        }
        guard rc == LDAP_SUCCESS, let control else { throw error(ld, code: rc, operation: .search, base: base) }
        return control
    }

    /// `ldap_control_free`.
    static func freeControl(_ control: UnsafeMutablePointer<LDAPControl>) {
        ldap_control_free(control)
    }

    /// `ldap_search_ext`: starts an asynchronous search and returns its message id.
    static func startSearch(_ ld: OpaquePointer, _ request: SearchRequest, control: UnsafeMutablePointer<LDAPControl>?,
                            timeout: Duration) throws -> Int32 {
        var msgid: Int32 = 0
        var controls: [UnsafeMutablePointer<LDAPControl>?] = control.map { [$0, nil] } ?? [nil]
        var names: [UnsafeMutablePointer<CChar>?] = request.attributes.map { strdup($0.name) }
        if names.isEmpty { names.append(strdup("1.1")) }
        names.append(nil)
        defer { for p in names { Glibc.free(p) } }
        let rc = controls.withUnsafeMutableBufferPointer { ctrls in
            names.withUnsafeMutableBufferPointer { attrs in
                cldap_search(ld, request.base, request.scope.cValue, request.filter, attrs.baseAddress,
                             ctrls.baseAddress, timeout.clampedMilliseconds, &msgid)
            }
        }
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .search, base: request.base) }
        return msgid
    }

    /// `ldap_result` for one message of `msgid`, waiting at most `timeout`. Returns the message type
    /// and the message (the caller frees it with `ldap_msgfree`), or nil on timeout.
    static func nextMessage(_ ld: OpaquePointer, msgid: Int32, timeout: Duration, base: String,
                            entries: Int) throws -> (type: Int32, message: OpaquePointer)? {
        var message: OpaquePointer?
        let type = cldap_result(ld, msgid, LDAP_MSG_ONE, timeout.clampedMilliseconds, &message)
        if type == 0 {
            if let message { ldap_msgfree(message) }
            return nil
        }
        guard type > 0, let message else {
            if let message { ldap_msgfree(message) }
            let code = lastResultCode(ld)
            throw error(ld, code: code == LDAP_SUCCESS ? LDAP_SERVER_DOWN : code, operation: .search, base: base,
                        entries: entries)
        }
        return (type, message)
    }

    /// `ldap_abandon_ext`: tells the server to stop a search we gave up on.
    static func abandon(_ ld: OpaquePointer, msgid: Int32) {
        _ = ldap_abandon_ext(ld, msgid, nil, nil)
    }

    /// `ldap_msgfree`.
    static func freeMessage(_ message: OpaquePointer) {
        ldap_msgfree(message)
    }

    /// `ldap_parse_result` + `ldap_parse_pageresponse_control`: the final code of one page and its cookie.
    static func parseSearchDone(_ ld: OpaquePointer, _ result: OpaquePointer, base: String,
                                entries: Int) throws -> [UInt8] {
        var code: Int32 = 0
        var matched: UnsafeMutablePointer<CChar>?
        var text: UnsafeMutablePointer<CChar>?
        var referrals: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        let rc = ldap_parse_result(ld, result, &code, &matched, &text, &referrals, &controls, 0)
        defer {
            if let matched { ldap_memfree(matched) }
            if let text { ldap_memfree(text) }
            if let referrals { ldap_memvfree(UnsafeMutablePointer(OpaquePointer(referrals))) }
            if let controls { ldap_controls_free(controls) }
        }
        guard rc == LDAP_SUCCESS else { throw error(ld, code: rc, operation: .search, base: base, entries: entries) }
        guard code == LDAP_SUCCESS else {
            throw LDAPError(code: LDAPResultCode(rawValue: code), operation: .search, message: message(for: code),
                            diagnostic: text.map { String(cString: $0) }, matchedDN: matched.map { String(cString: $0) },
                            base: base, entriesBeforeFailure: entries)
        }
        var cookie = berval()
        var found: Int32 = 0
        let prc = cldap_page_cookie(ld, controls, &cookie, &found)
        defer { if let value = cookie.bv_val { ber_memfree(value) } }
        guard prc == LDAP_SUCCESS, found != 0 else {
            throw LDAPError(code: .protocolError, operation: .search,
                            message: "the server did not answer the paged-results control", base: base,
                            entriesBeforeFailure: entries)
        }
        guard let value = cookie.bv_val, cookie.bv_len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: Int(cookie.bv_len)))
    }

    /// One pass over an entry's BER (`ldap_get_dn_ber` + `ldap_get_attribute_ber`), the way ldapsearch
    /// reads it; each value is then copied exactly once into Swift storage.
    static func decodeEntry(_ ld: OpaquePointer, _ message: OpaquePointer, matcher: AttributeMatcher,
                            base: String, entries: Int) throws -> LDAPEntry {
        var scratch = [[UnsafeBufferPointer<UInt8>]](repeating: [], count: matcher.count)
        var decoded: LDAPEntry?
        try withRawEntry(ld, message, matcher: matcher, base: base, entries: entries, scratch: &scratch) { raw in
            decoded = LDAPEntry(dn: raw.dn, values: raw.values.enumerated().map { slot, values in
                values.map { bytes in
                    if !matcher.isBinary(slot), let text = UTF8Text.decode(bytes) { return .text(text) }
                    return .bytes(Array(bytes))
                }
            })
        }
        return decoded!
    }
}

extension LDAPCalls {
    /// Like `decodeEntry`, but values stay in the message's buffer (no copy) for the duration of `body`.
    static func withRawEntry(_ ld: OpaquePointer, _ message: OpaquePointer, matcher: AttributeMatcher, base: String,
                             entries: Int, scratch values: inout [[UnsafeBufferPointer<UInt8>]],
                             _ body: (LDAPRawEntry) throws -> Void) throws {
        var ber: OpaquePointer?
        var dnValue = berval()
        let rc = ldap_get_dn_ber(ld, message, &ber, &dnValue)
        defer { if let ber { ber_free(ber, 0) } }
        // The rootDSE's DN is empty (libldap may hand over no buffer for it).
        let emptyDN = rc == LDAP_SUCCESS && dnValue.bv_len == 0
        guard emptyDN || (rc == LDAP_SUCCESS && dnValue.bv_val != nil),
              let dn = emptyDN ? "" : UTF8Text.decode(UnsafeBufferPointer(
                start: UnsafeRawPointer(dnValue.bv_val!).assumingMemoryBound(to: UInt8.self), count: Int(dnValue.bv_len))) else {
            throw error(ld, code: rc == LDAP_SUCCESS ? LDAP_DECODING_ERROR : rc, operation: .parse, base: base,
                        entries: entries)
        }
        for slot in values.indices { values[slot].removeAll(keepingCapacity: true) }
        var name = berval()
        var vals: UnsafeMutablePointer<berval>?
        var moreAfter: [Int: Int] = [:]
        while true {
            let arc = ldap_get_attribute_ber(ld, message, ber, &name, &vals)
            guard arc == LDAP_SUCCESS else {
                if let vals { ber_memfree(vals) }
                throw error(ld, code: arc, operation: .parse, base: dn, entries: entries)
            }
            guard let namePtr = name.bv_val else { break }
            defer { if let v = vals { ber_memfree(v); vals = nil } }
            let nameBytes = UnsafeRawBufferPointer(start: namePtr, count: Int(name.bv_len))
            guard let slot = matcher.slot(for: nameBytes) else { continue }
            if let next = AttributeMatcher.rangeContinuation(nameBytes) { moreAfter[slot] = next }
            guard let list = vals else { continue }
            var i = 0
            while let bytes = list[i].bv_val {
                values[slot].append(UnsafeBufferPointer(start: UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self),
                                                        count: Int(list[i].bv_len)))
                i += 1
            }
        }
        try body(LDAPRawEntry(dn: dn, values: values, moreAfter: moreAfter))
    }
}

/// Maps the attribute names the server returns to the positions of the request, case-insensitively,
/// ignoring attribute options (`member;range=0-1499` fills the slot of `member`).
struct AttributeMatcher {
    private let names: [[UInt8]]
    private let binary: [Bool]

    init(_ attributes: [AttributeRequest]) {
        // Options are not part of the name: asking for `member;range=1500-*` matches `member;range=1500-2999`.
        names = attributes.map { Array(($0.name.split(separator: ";", maxSplits: 1).first.map(String.init) ?? $0.name).lowercased().utf8) }
        binary = attributes.map(\.binary)
    }

    var count: Int { names.count }
    func isBinary(_ slot: Int) -> Bool { binary[slot] }

    /// For `NAME;range=START-END` with a numeric END (the server has more), END + 1; nil for `END = *` (the
    /// last part) or no range option (Active Directory's ranged retrieval, MS-ADTS 3.1.1.3.1.3.3).
    static func rangeContinuation(_ name: UnsafeRawBufferPointer) -> Int? {
        // Nearly every attribute name has no option at all: decided from the bytes, with no String made.
        guard name.contains(UInt8(ascii: ";")) else { return nil }
        let text = String(decoding: name, as: UTF8.self).lowercased()
        guard let option = text.split(separator: ";").dropFirst().first(where: { $0.hasPrefix("range=") }) else { return nil }
        let bounds = option.dropFirst("range=".count).split(separator: "-", maxSplits: 1)
        guard bounds.count == 2, let end = Int(bounds[1]) else { return nil }
        return end + 1
    }

    func slot(for name: UnsafeRawBufferPointer) -> Int? {
        var length = name.count
        if let semicolon = name.firstIndex(of: UInt8(ascii: ";")) { length = semicolon }
        outer: for (index, wanted) in names.enumerated() where wanted.count == length {
            for i in 0..<length {
                var c = name[i]
                if c >= 65 && c <= 90 { c += 32 }
                if c != wanted[i] { continue outer }
            }
            return index
        }
        return nil
    }
}

/// The libldap this process runs with, for `mixer-sync --version`.
public enum LDAPLibrary {
    /// "2.5.17" from `LDAP_OPT_API_INFO`'s vendor version.
    public static var version: String {
        let v = cldap_vendor_version()
        guard v > 0 else { return "unknown" }
        return "\(v / 10000).\(v / 100 % 100).\(v % 100)"
    }

    /// libldap's TLS library (`LDAP_OPT_X_TLS_PACKAGE`).
    public static var tlsPackage: String {
        guard let raw = cldap_tls_package() else { return "none" }
        defer { ldap_memfree(raw) }
        return String(cString: raw)
    }
}
