import Foundation
import GRDB
import Synchronization
import Reconcile

/// mixer-sync's state: links between directory anchors and MixerAI ids, the role ledger of offboarded accounts,
/// what pending invites will grant, the journal of intents, gate history, approvals, the last good snapshot's
/// figures, the rolling deactivation window, runs, the durable queue, the feed cookies, the bans. In SQLite
/// (`state.sqlite` under the state directory, WAL) by default, or in PostgreSQL (docs/state.md). Every method is one
/// transaction, written once in SQL common to both.
public final class StateStore: Sendable {
    let db: any StateDatabase
    /// Where the state is, for messages: a file's path or a URL without its password.
    public var path: String { db.location }
    /// Where `perform` runs: a thread of its own, never Swift's cooperative pool (SQLite's fsyncs and PostgreSQL's
    /// round trips block).
    private let worker = DispatchQueue(label: "mixer-sync.state")

    private static let opened = Mutex<[String: StateStore]>([:])

    /// The state database of `directory`, opened once per process (GRDB's rule: one connection per database file
    /// and process); every later call hands back the same store.
    public static func open(directory: String) throws -> StateStore {
        let key = URL(fileURLWithPath: directory).standardizedFileURL.path
        return try opened.withLock { stores in
            if let store = stores[key] { return store }
            let store = try StateStore(directory: directory)
            stores[key] = store
            return store
        }
    }

    /// The PostgreSQL state (`[state] backend = "postgresql"`), opened once per process and database; its tables are
    /// created or upgraded on the way.
    public static func open(postgres settings: PostgresSettings) throws -> StateStore {
        try opened.withLock { stores in
            if let store = stores[settings.location] { return store }
            let store = try StateStore(postgres: settings)
            stores[settings.location] = store
            return store
        }
    }

    /// A new connection to the PostgreSQL state (tests that open it as a second host would).
    public convenience init(postgres settings: PostgresSettings) throws {
        self.init(database: try PostgresDatabase(settings))
    }

    /// Ends the store's connection, if it has one (PostgreSQL); the next call opens a new one.
    public func disconnect() { (db as? PostgresDatabase)?.close() }

    /// A state that lives in memory only (the daemon's unit tests): the same schema and code, nothing on disk.
    public static func inMemory() throws -> StateStore {
        let queue = try DatabaseQueue()
        try Schema.sqliteMigrator.migrate(queue)
        return StateStore(database: SQLiteDatabase(queue: queue, location: ":memory:"))
    }

    /// A store on a database already opened and migrated.
    public init(database: any StateDatabase) {
        db = database
    }

    /// The SQLite state of `directory` (created 0700, the file 0600).
    public convenience init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if let kind = Self.networkFilesystem(at: directory) {
            throw StateError("the state directory \(directory) is on \(kind): SQLite's locks are not reliable there, and two "
                             + "hosts sharing one file would corrupt it. Keep [state] directory on a local disk; for two "
                             + "hosts use [state] backend = \"postgresql\" (docs/high-availability.md)")
        }
        let path = directory + "/state.sqlite"
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL") }
        let queue = try Self.openQueue(path: path, configuration: config)
        chmod(path, 0o600)
        self.init(database: SQLiteDatabase(queue: queue, location: path))
    }

    /// The network filesystem `directory` is on (NFS, SMB/CIFS), or nil for a local one: the filesystem type of
    /// the longest mount point in `/proc/self/mounts` that contains it.
    static func networkFilesystem(at directory: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        let path = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        return networkFilesystem(path: path, mounts: mounts)
    }

    /// The same, from a mount table's text (`device mountpoint fstype options …` per line).
    public static func networkFilesystem(path: String, mounts: String) -> String? {
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || path == point || path.hasPrefix(point.hasSuffix("/") ? point : point + "/")
            if inside && point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        switch best?.type {
        case "nfs", "nfs4": return "NFS"
        case "cifs", "smb3", "smbfs": return "SMB/CIFS"
        default: return nil
        }
    }

    /// The database opened and migrated. An I/O error while opening (seen once, on a fresh file, under a heavily
    /// loaded test run) is tried once more after a pause before it is reported, with SQLite's extended code.
    private static func openQueue(path: String, configuration: Configuration) throws -> DatabaseQueue {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                try Schema.sqliteMigrator.migrate(queue)
                return queue
            } catch let error as DatabaseError where error.resultCode == .SQLITE_IOERR && attempt < 2 {
                usleep(100_000)
            } catch let error as DatabaseError {
                throw StateError("cannot open the state database \(path): \(error) (extended code \(error.extendedResultCode.rawValue))")
            } catch {
                throw StateError("cannot open the state database \(path): \(error)")
            }
        }
    }

    /// Runs `body` with this store off the cooperative pool (a transaction's fsync blocks its thread for
    /// milliseconds; two cores make two pool threads) and resumes the caller with its result.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (StateStore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { k in
            worker.async { k.resume(with: Result { try body(self) }) }
        }
    }

    // MARK: - Links

    /// anchor → MixerAI user id.
    public func links() throws -> [String: String] {
        try db.read { tx in
            var out: [String: String] = [:]
            for row in try tx.rows("SELECT anchor, user_id FROM link") { out[try row.text("anchor")] = try row.text("user_id") }
            return out
        }
    }

    /// Links an anchor to its account; with `grant` (an invite just landed), records what it granted in the same
    /// transaction, so no reader ever sees the new account linked without its pending grant.
    public func link(anchor: String, userId: String, email: String?, at: Date, grant: AccountState? = nil) throws {
        try db.write { tx in
            try tx.execute("""
                INSERT INTO link (anchor, user_id, email, linked_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (anchor) DO UPDATE SET user_id = excluded.user_id, email = excluded.email,
                    linked_at = excluded.linked_at
                """, [anchor, userId, email, at])
            if let grant { try Self.putGrant(tx, userId: userId, state: grant) }
        }
    }

    /// The MixerAI id linked to one anchor.
    public func linkedUser(anchor: String) throws -> String? {
        try db.read { tx in try tx.row("SELECT user_id FROM link WHERE anchor = ?", [anchor])?.text("user_id") }
    }

    /// Forgets the links to an account MixerAI no longer has (deleted).
    public func unlink(userId: String) throws {
        try db.write { tx in try tx.execute("DELETE FROM link WHERE user_id = ?", [userId]) }
    }

    // MARK: - Ledger (roles kept at offboarding) and pending grants

    public func ledger() throws -> (states: [String: AccountState], offboardedAt: [String: Date]) {
        try db.read { tx in
            var states: [String: AccountState] = [:]
            var at: [String: Date] = [:]
            for row in try tx.rows("SELECT user_id, state, offboarded_at FROM ledger") {
                let id = try row.text("user_id")
                states[id] = try Self.decode(AccountState.self, row.text("state"))
                at[id] = try row.date("offboarded_at")
            }
            return (states, at)
        }
    }

    /// Keeps the roles an account held before offboarding (the first record wins: re-offboarding a stripped
    /// account must not overwrite the real roles with "viewer, no brands").
    public func keepInLedger(userId: String, state: AccountState, at: Date) throws {
        try db.write { tx in
            try tx.execute("""
                INSERT INTO ledger (user_id, state, offboarded_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING
                """, [userId, try Self.encode(state), at])
        }
    }

    public func clearLedger(userId: String) throws {
        try db.write { tx in try tx.execute("DELETE FROM ledger WHERE user_id = ?", [userId]) }
    }

    public func pendingGrants() throws -> [String: AccountState] {
        try db.read { tx in
            var out: [String: AccountState] = [:]
            for row in try tx.rows("SELECT user_id, state FROM pending_grant") {
                out[try row.text("user_id")] = try Self.decode(AccountState.self, row.text("state"))
            }
            return out
        }
    }

    public func setPendingGrant(userId: String, state: AccountState) throws {
        try db.write { tx in try Self.putGrant(tx, userId: userId, state: state) }
    }

    private static func putGrant(_ tx: any SQLTransaction, userId: String, state: AccountState) throws {
        try tx.execute("""
            INSERT INTO pending_grant (user_id, state) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET state = excluded.state
            """, [userId, try encode(state)])
    }

    /// The grants still needed: those of accounts that accepted their invite (`accepted`) are dropped, and deleted
    /// from the table when `write` is true. An account absent from the list read is kept: it may be newer than the
    /// read (invited by the daemon's writer meanwhile), and a dry run or another process must never lose its grant.
    public func pendingGrants(droppingAccepted accepted: Set<String>, write: Bool) throws -> [String: AccountState] {
        var grants = try pendingGrants()
        let gone = grants.keys.filter { accepted.contains($0) }
        for id in gone { grants[id] = nil }
        if write && !gone.isEmpty {
            try db.write { tx in
                for id in gone { try tx.execute("DELETE FROM pending_grant WHERE user_id = ?", [id]) }
            }
        }
        return grants
    }

    // MARK: - JSON columns

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// A state database that cannot be opened or read.
public struct StateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
