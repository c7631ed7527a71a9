import CLDAP

/// One authenticated LDAP connection (an `LDAP*` handle), opened with TLS verification always on,
/// referrals off, and a timeout on every operation.
///
/// Not `Sendable`: libldap calls block, and one handle must stay on one thread. Use it only inside
/// `LDAPWorker.run`, which confines it to a serial queue off the cooperative pool.
public final class LDAPConnection {
    private let handle: OpaquePointer
    let timeout: Duration
    /// The URL this connection reached (the first of the failover list that answered).
    public let url: String

    /// Connects to the first server of `options.urls` that accepts TLS (when asked) and the bind.
    /// Bind and TLS failures are not retried on the next server: they are configuration, not availability.
    public init(_ options: ConnectionOptions) throws {
        precondition(!options.urls.isEmpty, "ConnectionOptions.urls is empty")
        var lastError: LDAPError?
        for url in options.urls {
            do {
                let handle = try Self.open(url: url, options: options)
                self.handle = handle
                self.url = url
                self.timeout = options.operationTimeout
                return
            } catch let error as LDAPError where error.kind == .transient {
                lastError = error
                continue
            }
        }
        throw lastError!
    }

    deinit {
        LDAPCalls.unbind(handle)
    }

    /// The `LDAP*` for calls of this module that drive the handle themselves (the sync session).
    var rawHandle: OpaquePointer { handle }

    private static func open(url: String, options: ConnectionOptions) throws -> OpaquePointer {
        let ld = try LDAPCalls.initialize(url: url)
        do {
            try LDAPCalls.setInt(ld, LDAP_OPT_PROTOCOL_VERSION, LDAP_VERSION3)
            try LDAPCalls.setFlag(ld, LDAP_OPT_REFERRALS, false)
            try LDAPCalls.setTimeout(ld, LDAP_OPT_NETWORK_TIMEOUT, options.operationTimeout)
            try LDAPCalls.setTimeout(ld, LDAP_OPT_TIMEOUT, options.operationTimeout)
            let usesTLS = url.lowercased().hasPrefix("ldaps://") || options.startTLS
            if usesTLS { try configureTLS(ld, options.tls) }
            if options.startTLS && !url.lowercased().hasPrefix("ldaps://") {
                try LDAPCalls.startTLS(ld)
            } else {
                try LDAPCalls.connect(ld)
            }
            switch options.bind {
            case .anonymous:
                break
            case .simple(let dn, let password):
                try LDAPCalls.simpleBind(ld, dn: dn, password: password)
            case .saslExternal:
                try LDAPCalls.saslExternalBind(ld)
            }
            return ld
        } catch {
            LDAPCalls.unbind(ld)
            throw error
        }
    }

    /// Per-handle TLS: demand a valid certificate, use the configured trust anchors, then NEWCTX so they apply.
    private static func configureTLS(_ ld: OpaquePointer, _ tls: LDAPTLSOptions) throws {
        try LDAPCalls.setInt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, LDAP_OPT_X_TLS_DEMAND)
        if let caFile = tls.caFile {
            try LDAPCalls.setString(ld, LDAP_OPT_X_TLS_CACERTFILE, caFile)
        } else if tls.caDirectory == nil {
            try LDAPCalls.setString(ld, LDAP_OPT_X_TLS_CACERTFILE, "/etc/ssl/certs/ca-certificates.crt")
        }
        if let caDirectory = tls.caDirectory {
            try LDAPCalls.setString(ld, LDAP_OPT_X_TLS_CACERTDIR, caDirectory)
        }
        if let cert = tls.clientCertificateFile {
            try LDAPCalls.setString(ld, LDAP_OPT_X_TLS_CERTFILE, cert)
        }
        if let key = tls.clientKeyFile {
            try LDAPCalls.setString(ld, LDAP_OPT_X_TLS_KEYFILE, key)
        }
        try LDAPCalls.newTLSContext(ld)
    }

    /// Runs one RFC 2696 paged search to the end, handing each entry to `onEntry`.
    ///
    /// Returns only when the last page ended with `success` and an empty cookie. Anything else —
    /// a limit, a referral or continuation reference, a lost connection, a page slower than the
    /// operation timeout, or the `deadline` passing — throws, and the caller must discard what it got.
    ///
    /// Pages are pipelined: a page's entries are kept as raw messages until its final result arrives,
    /// the next page is requested at once, and only then are the kept entries decoded, so the server
    /// prepares page N+1 while we decode page N.
    public func search(_ request: SearchRequest, pageSize: Int, deadline: ContinuousClock.Instant,
                       onEntry: (LDAPEntry) throws -> Void) throws -> SearchSummary {
        let matcher = AttributeMatcher(request.attributes)
        return try searchMessages(request, pageSize: pageSize, deadline: deadline) { message, entries in
            try onEntry(LDAPCalls.decodeEntry(handle, message, matcher: matcher, base: request.base, entries: entries))
        }
    }

    /// The same paged search, handing each entry over without copying its values: the byte buffers of
    /// an `LDAPRawEntry` point into libldap's message and are valid only during the call to `onEntry`.
    /// For very large multi-valued attributes (a group's 100,000 members) that are digested at once.
    public func searchRaw(_ request: SearchRequest, pageSize: Int, deadline: ContinuousClock.Instant,
                          onEntry: (LDAPRawEntry) throws -> Void) throws -> SearchSummary {
        let matcher = AttributeMatcher(request.attributes)
        // One set of value arrays for the whole search: emptied, never freed, between entries.
        var scratch = [[UnsafeBufferPointer<UInt8>]](repeating: [], count: matcher.count)
        return try searchMessages(request, pageSize: pageSize, deadline: deadline) { message, entries in
            try LDAPCalls.withRawEntry(handle, message, matcher: matcher, base: request.base, entries: entries,
                                       scratch: &scratch, onEntry)
        }
    }

    /// The paged loop shared by both searches: `body` gets each entry message, which is freed after it.
    private func searchMessages(_ request: SearchRequest, pageSize: Int, deadline: ContinuousClock.Instant,
                                body: (OpaquePointer, Int) throws -> Void) throws -> SearchSummary {
        var pending: [OpaquePointer] = []
        pending.reserveCapacity(pageSize)
        var cursor = 0  // pending[..<cursor] are handled and freed
        defer { for message in pending[cursor...] { LDAPCalls.freeMessage(message) } }
        var entries = 0
        var pages = 0
        var msgid: Int32? = try startPage(request, pageSize: pageSize, cookie: [])
        while let current = msgid {
            let cookie = try collectPage(current, request: request, deadline: deadline, entries: entries, into: &pending)
            pages += 1
            msgid = cookie.isEmpty ? nil : try startPage(request, pageSize: pageSize, cookie: cookie)
            do {
                while cursor < pending.count {
                    let message = pending[cursor]
                    try body(message, entries)
                    LDAPCalls.freeMessage(message)
                    cursor += 1
                    entries += 1
                }
            } catch {
                if let next = msgid { LDAPCalls.abandon(handle, msgid: next) }
                throw error
            }
            pending.removeAll(keepingCapacity: true)
            cursor = 0
        }
        return SearchSummary(entries: entries, pages: pages, resultCode: .success)
    }

    /// The rootDSE (base "", scope base, unpaged: servers do not page it, Samba AD answers without the paged
    /// results control): the first value of each attribute asked for.
    public func rootDSE(_ attributes: [String]) throws -> [String: String] {
        let request = SearchRequest(base: "", scope: .base, filter: "(objectClass=*)",
                                    attributes: attributes.map { AttributeRequest($0) })
        let matcher = AttributeMatcher(request.attributes)
        let msgid = try LDAPCalls.startSearch(handle, request, control: nil, timeout: timeout)
        var out: [String: String] = [:]
        while true {
            guard let (type, message) = try LDAPCalls.nextMessage(handle, msgid: msgid, timeout: timeout, base: "", entries: 0) else {
                LDAPCalls.abandon(handle, msgid: msgid)
                throw LDAPError(code: .timeout, operation: .search, message: "no answer from the server within \(timeout)", base: "")
            }
            defer { LDAPCalls.freeMessage(message) }
            if type == Int32(LDAP_RES_SEARCH_ENTRY) {
                let entry = try LDAPCalls.decodeEntry(handle, message, matcher: matcher, base: "", entries: 0)
                for (i, name) in attributes.enumerated() { if let v = entry.firstText(i) { out[name] = v } }
            } else if type == Int32(LDAP_RES_SEARCH_RESULT) {
                var code: Int32 = 0
                let rc = ldap_parse_result(handle, message, &code, nil, nil, nil, nil, 0)
                guard rc == LDAP_SUCCESS, code == LDAP_SUCCESS else {
                    throw LDAPCalls.error(handle, code: rc == LDAP_SUCCESS ? code : rc, operation: .search, base: "")
                }
                return out
            }
        }
    }

    private func startPage(_ request: SearchRequest, pageSize: Int, cookie: [UInt8]) throws -> Int32 {
        let control = try LDAPCalls.pageControl(handle, size: pageSize, cookie: cookie, base: request.base)
        defer { LDAPCalls.freeControl(control) }
        return try LDAPCalls.startSearch(handle, request, control: control, timeout: timeout)
    }

    /// Reads one page's messages: entries are kept (undecoded) in `pending`; returns the page's cookie.
    private func collectPage(_ msgid: Int32, request: SearchRequest, deadline: ContinuousClock.Instant,
                             entries: Int, into pending: inout [OpaquePointer]) throws -> [UInt8] {
        while true {
            let now = ContinuousClock.now
            let seen = entries + pending.count
            guard now < deadline else {
                LDAPCalls.abandon(handle, msgid: msgid)
                throw LDAPError(code: .deadlineExceeded, operation: .search,
                                message: "the read did not finish before its deadline", base: request.base,
                                entriesBeforeFailure: seen)
            }
            let wait = Swift.min(timeout, now.duration(to: deadline))
            guard let (type, message) = try LDAPCalls.nextMessage(handle, msgid: msgid, timeout: wait,
                                                                   base: request.base, entries: seen) else {
                LDAPCalls.abandon(handle, msgid: msgid)
                throw LDAPError(code: .timeout, operation: .search,
                                message: "no answer from the server within \(timeout)", base: request.base,
                                entriesBeforeFailure: seen)
            }
            switch type {
            case Int32(LDAP_RES_SEARCH_ENTRY):
                pending.append(message)
            case Int32(LDAP_RES_SEARCH_RESULT):
                defer { LDAPCalls.freeMessage(message) }
                return try LDAPCalls.parseSearchDone(handle, message, base: request.base, entries: seen)
            case Int32(LDAP_RES_SEARCH_REFERENCE):
                LDAPCalls.freeMessage(message)
                LDAPCalls.abandon(handle, msgid: msgid)
                throw LDAPError(code: .continuationReference, operation: .search,
                                message: "the server returned a continuation reference (referrals are never chased, so the read is incomplete)",
                                base: request.base, entriesBeforeFailure: seen)
            default:
                LDAPCalls.freeMessage(message)
                LDAPCalls.abandon(handle, msgid: msgid)
                throw LDAPError(code: .protocolError, operation: .search,
                                message: "unexpected message type \(type) in a search", base: request.base,
                                entriesBeforeFailure: seen)
            }
        }
    }
}

@available(*, unavailable)
extension LDAPConnection: Sendable {}
