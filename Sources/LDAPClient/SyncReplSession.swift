import CLDAP

/// One RFC 4533 refreshAndPersist session through libldap's `ldap_sync_*` (the server's syncprov overlay).
///
/// `start` sends the sync request (with the cookie of an earlier session, if any) and returns when the refresh
/// phase is done; `poll` then waits for the persist phase's next messages. The session only says *that* entries
/// changed (their entryUUIDs, no attributes): what a change means is decided by a fresh, complete read.
/// Not `Sendable`, like `LDAPConnection`: one thread owns it.
public final class SyncReplSession {
    /// What the server told the session since the last call.
    public struct Events: Sendable, Equatable {
        /// Entries added, modified, deleted (or moved out of scope) — entryUUIDs as text.
        public var changed: [String] = []
        /// Entries a sync-info message listed as deleted (syncIdSet with refreshDeletes). syncprov resuming from
        /// its session log lists every deletion since the cookie, in scope or not: RFC 4533 lets clients ignore
        /// the ones they never saw.
        public var deleted: [String] = []
        /// Entries the refresh reported unchanged (present phase), counted only.
        public var present = 0
        /// A sync-info message listed entries as deleted or present (syncIdSet), counted.
        public var idSetEntries = 0
        /// The refresh phase ended (refreshDone).
        public var refreshDone = false
        /// The server ended the search: the session must be started again.
        public var ended = false
        /// The server asked for a full refresh (e-syncRefreshRequired, 4096): the cookie must be dropped.
        public var refreshRequired = false
        public init() {}
        public var isEmpty: Bool { changed.isEmpty && present == 0 && idSetEntries == 0 && !refreshDone && !ended }
    }

    /// Collects what the C callbacks report; reached through `ls_private`.
    private final class Collector {
        var events = Events()
    }

    private let connection: LDAPConnection
    private let sync = UnsafeMutablePointer<ldap_sync_t>.allocate(capacity: 1)
    private let collector = Collector()
    private var started = false

    /// Connects and binds (the same options as a read: TLS verified, referrals off, timeouts) and turns TCP
    /// keepalive on, so a server that vanishes under an idle persist search is noticed.
    public init(_ options: ConnectionOptions) throws {
        connection = try LDAPConnection(options)
        cldap_keepalive(connection.rawHandle, 30, 3, 10)
        sync.initialize(to: ldap_sync_t())
    }

    deinit {
        if started { cldap_sync_release(sync) }
        sync.deallocate()
    }

    /// The URL of the server this session reached.
    public var url: String { connection.url }

    /// `ldap_sync_init_refresh_and_persist`: starts the search under `base` for `filter` (attributes "1.1") and
    /// runs the refresh phase to its end. With `cookie`, the server sends only what changed since it.
    public func start(base: String, filter: String, cookie: [UInt8]?, pollSeconds: Int32) throws -> Events {
        precondition(!started, "a SyncReplSession starts once")
        started = true
        let context = Unmanaged.passUnretained(collector).toOpaque()
        let rc: Int32 = (cookie ?? []).withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(bytes.count, 1)) { raw in
                cldap_sync_start(sync, connection.rawHandle, base, filter, cookie == nil ? nil : raw,
                                 ber_len_t(bytes.count), pollSeconds, context,
                                 Self.onEntry, Self.onIntermediate, Self.onResult)
            }
        }
        if rc == LDAP_SYNC_REFRESH_REQUIRED { collector.events.refreshRequired = true }
        guard rc == LDAP_SUCCESS || rc == LDAP_SYNC_REFRESH_REQUIRED else {
            throw LDAPCalls.error(connection.rawHandle, code: rc, operation: .search, base: base)
        }
        collector.events.refreshDone = true
        return take()
    }

    /// `ldap_sync_poll`: waits up to the poll timeout for the next messages. Throws when the connection is lost or
    /// the server ends the search with an error; a graceful end comes back as `ended`.
    public func poll() throws -> Events {
        let rc = ldap_sync_poll(sync)
        if rc == LDAP_SYNC_REFRESH_REQUIRED {
            collector.events.refreshRequired = true
            collector.events.ended = true
            return take()
        }
        if rc != LDAP_SUCCESS {
            let code = rc < 0 ? LDAPCalls.lastResultCode(connection.rawHandle) : rc
            throw LDAPCalls.error(connection.rawHandle, code: code == 0 ? LDAP_SERVER_DOWN : code, operation: .search)
        }
        return take()
    }

    /// The opaque state to resume from (RFC 4533 cookie), as the server last sent it.
    public var cookie: [UInt8]? {
        let bv = sync.pointee.ls_cookie
        guard let bytes = bv.bv_val, bv.bv_len > 0 else { return nil }
        return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(bv.bv_len)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(bv.bv_len)))
        }
    }

    private func take() -> Events {
        defer { collector.events = Events() }
        return collector.events
    }

    private static func collector(_ ls: UnsafeMutablePointer<ldap_sync_t>?) -> Collector? {
        guard let raw = ls?.pointee.ls_private else { return nil }
        return Unmanaged<Collector>.fromOpaque(raw).takeUnretainedValue()
    }

    /// RFC 4533 sends the entryUUID as its 16 raw bytes; reported in the usual 8-4-4-4-12 text form.
    static func uuidText(_ bv: UnsafeMutablePointer<berval>?) -> String {
        guard let bv, let raw = bv.pointee.bv_val else { return "" }
        let count = Int(bv.pointee.bv_len)
        let bytes = raw.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        guard count == 16 else { return String(decoding: bytes, as: UTF8.self) }
        let hex = bytes.map { byte -> String in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    private static let onEntry: ldap_sync_search_entry_f = { ls, _, uuid, phase in
        guard let collector = SyncReplSession.collector(ls) else { return LDAP_SUCCESS }
        if phase == LDAP_SYNC_CAPI_PRESENT {
            collector.events.present += 1
        } else {
            collector.events.changed.append(SyncReplSession.uuidText(uuid))
        }
        return LDAP_SUCCESS
    }

    private static let onIntermediate: ldap_sync_intermediate_f = { ls, _, uuids, phase in
        guard let collector = SyncReplSession.collector(ls) else { return LDAP_SUCCESS }
        if let uuids {
            var i = 0
            while uuids[i].bv_val != nil {
                // Deleted entries: their people may have left (the pass that follows finds out).
                if phase == LDAP_SYNC_CAPI_DELETES_IDSET { collector.events.deleted.append(SyncReplSession.uuidText(uuids + i)) }
                i += 1
            }
            collector.events.idSetEntries += i
        }
        if phase == LDAP_SYNC_CAPI_DONE { collector.events.refreshDone = true }
        return LDAP_SUCCESS
    }

    private static let onResult: ldap_sync_search_result_f = { ls, _, _ in
        SyncReplSession.collector(ls)?.events.ended = true
        return LDAP_SUCCESS
    }
}
