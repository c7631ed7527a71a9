import Foundation
import GRDB
import Synchronization
import Reconcile

/// mixer-sync's local state in SQLite (`state.sqlite` under the state directory, WAL): links between directory
/// anchors and MixerAI ids, the role ledger of offboarded accounts, what pending invites will grant, the journal
/// of intents, gate history, approvals, the last good snapshot's figures, the rolling deactivation window, runs.
/// Every method is one transaction.
public final class StateStore: Sendable {
    let db: DatabaseQueue
    public let path: String
    /// Where `perform` runs: a thread of its own, never Swift's cooperative pool (SQLite's fsyncs block).
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

    /// A state that lives in memory only (the daemon's unit tests): the same schema and code, nothing on disk.
    public static func inMemory() throws -> StateStore { try StateStore(queue: DatabaseQueue(), path: ":memory:") }

    private init(queue: DatabaseQueue, path: String) throws {
        db = queue
        self.path = path
        try Self.migrator.migrate(db)
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        path = directory + "/state.sqlite"
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL") }
        db = try Self.openQueue(path: path, configuration: config)
        chmod(path, 0o600)
    }

    /// The database opened and migrated. An I/O error while opening (seen once, on a fresh file, under a heavily
    /// loaded test run) is tried once more after a pause before it is reported, with SQLite's extended code.
    private static func openQueue(path: String, configuration: Configuration) throws -> DatabaseQueue {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                try migrator.migrate(queue)
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

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE link (anchor TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT, linked_at REAL NOT NULL);
                CREATE INDEX link_user ON link(user_id);
                CREATE TABLE ledger (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, offboarded_at REAL NOT NULL);
                CREATE TABLE pending_grant (user_id TEXT PRIMARY KEY, state TEXT NOT NULL);
                CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL,
                    kind TEXT NOT NULL, anchor TEXT, email TEXT, user_id TEXT, change TEXT NOT NULL, step TEXT NOT NULL,
                    status TEXT NOT NULL, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
                CREATE INDEX journal_status ON journal(status);
                CREATE TABLE gate_history (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, at REAL NOT NULL,
                    plan_hash TEXT NOT NULL, held INTEGER NOT NULL, verdicts TEXT NOT NULL, changes INTEGER NOT NULL);
                CREATE INDEX gate_hash ON gate_history(plan_hash);
                CREATE TABLE approval (plan_hash TEXT PRIMARY KEY, approved_at REAL NOT NULL, used_at REAL, used_run TEXT);
                CREATE TABLE snapshot (run_id TEXT PRIMARY KEY, at REAL NOT NULL, in_scope INTEGER NOT NULL,
                    people INTEGER NOT NULL, good INTEGER NOT NULL);
                CREATE TABLE deactivation (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, user_id TEXT NOT NULL,
                    approved INTEGER NOT NULL);
                CREATE TABLE run (run_id TEXT PRIMARY KEY, at REAL NOT NULL, mode TEXT NOT NULL, outcome TEXT NOT NULL,
                    plan_hash TEXT, changes INTEGER NOT NULL, applied INTEGER NOT NULL, escrow INTEGER NOT NULL,
                    report TEXT, duration_ms INTEGER NOT NULL, error TEXT);
                """)
        }
        registerQueue(&m)
        registerBans(&m)
        return m
    }

    // MARK: - Links

    /// anchor → MixerAI user id.
    public func links() throws -> [String: String] {
        try db.read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT anchor, user_id FROM link") { out[row["anchor"]] = row["user_id"] }
            return out
        }
    }

    /// Links an anchor to its account; with `grant` (an invite just landed), records what it granted in the same
    /// transaction, so no reader ever sees the new account linked without its pending grant.
    public func link(anchor: String, userId: String, email: String?, at: Date, grant: AccountState? = nil) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO link (anchor, user_id, email, linked_at) VALUES (?, ?, ?, ?)",
                           arguments: [anchor, userId, email, at.timeIntervalSince1970])
            if let grant { try Self.putGrant(db, userId: userId, state: grant) }
        }
    }

    /// The MixerAI id linked to one anchor.
    public func linkedUser(anchor: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT user_id FROM link WHERE anchor = ?", arguments: [anchor]) }
    }

    /// Forgets the links to an account MixerAI no longer has (deleted).
    public func unlink(userId: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM link WHERE user_id = ?", arguments: [userId]) }
    }

    // MARK: - Ledger (roles kept at offboarding) and pending grants

    public func ledger() throws -> (states: [String: AccountState], offboardedAt: [String: Date]) {
        try db.read { db in
            var states: [String: AccountState] = [:]
            var at: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT user_id, state, offboarded_at FROM ledger") {
                let id: String = row["user_id"]
                states[id] = try Self.decode(AccountState.self, row["state"])
                at[id] = Date(timeIntervalSince1970: row["offboarded_at"])
            }
            return (states, at)
        }
    }

    /// Keeps the roles an account held before offboarding (the first record wins: re-offboarding a stripped
    /// account must not overwrite the real roles with "viewer, no brands").
    public func keepInLedger(userId: String, state: AccountState, at: Date) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO ledger (user_id, state, offboarded_at) VALUES (?, ?, ?)",
                           arguments: [userId, try Self.encode(state), at.timeIntervalSince1970])
        }
    }

    public func clearLedger(userId: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM ledger WHERE user_id = ?", arguments: [userId]) }
    }

    public func pendingGrants() throws -> [String: AccountState] {
        try db.read { db in
            var out: [String: AccountState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT user_id, state FROM pending_grant") {
                out[row["user_id"]] = try Self.decode(AccountState.self, row["state"])
            }
            return out
        }
    }

    public func setPendingGrant(userId: String, state: AccountState) throws {
        try db.write { db in try Self.putGrant(db, userId: userId, state: state) }
    }

    private static func putGrant(_ db: Database, userId: String, state: AccountState) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO pending_grant (user_id, state) VALUES (?, ?)",
                       arguments: [userId, try encode(state)])
    }

    /// The grants still needed: those of accounts that accepted their invite (`accepted`) are dropped, and deleted
    /// from the table when `write` is true. An account absent from the list read is kept: it may be newer than the
    /// read (invited by the daemon's writer meanwhile), and a dry run or another process must never lose its grant.
    public func pendingGrants(droppingAccepted accepted: Set<String>, write: Bool) throws -> [String: AccountState] {
        var grants = try pendingGrants()
        let gone = grants.keys.filter { accepted.contains($0) }
        for id in gone { grants[id] = nil }
        if write && !gone.isEmpty {
            try db.write { db in
                for id in gone { try db.execute(sql: "DELETE FROM pending_grant WHERE user_id = ?", arguments: [id]) }
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
