import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Where the PostgreSQL state is and how to reach it (`[state] backend = "postgresql"`, docs/state.md).
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    /// Read from `password_file` (never inline, never logged).
    public var password: String?
    /// TLS with full verification (the system's roots, or `caFile`); off only to loopback.
    public var tls: Bool
    public var caFile: String?
    /// Connect and per-statement limit: a state that does not answer in time is an error, not a hang.
    public var timeout: TimeInterval
    /// With a lease (`[ha]`): a session left idle inside a transaction this long is ended by PostgreSQL, so a
    /// process paused mid-transaction (SIGSTOP, a VM freeze) cannot hold the lease row's lock and block the
    /// takeover; and no statement waits longer than `lockTimeout` for a lock.
    public var idleInTransactionTimeout: TimeInterval?
    public var lockTimeout: TimeInterval?

    public init(host: String, port: Int = 5432, user: String, database: String, password: String?, tls: Bool,
                caFile: String? = nil, timeout: TimeInterval = 10) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
        self.caFile = caFile
        self.timeout = timeout
    }

    /// From `postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=verify-full|disable]` (a password in the URL is refused:
    /// it belongs in `password_file`). TLS with full verification is the default and the only choice off loopback;
    /// `sslmode=disable` is accepted for 127.0.0.1, ::1 and localhost only.
    public init(url: String, password: String?, caFile: String? = nil, timeout: TimeInterval = 10) throws {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, ["postgresql", "postgres"].contains(scheme) else {
            throw StateError("\(url): not a postgresql:// URL")
        }
        guard parts.password == nil else {
            throw StateError("the PostgreSQL URL holds a password: put it in password_file, never in the URL")
        }
        guard let host = parts.host, !host.isEmpty else { throw StateError("\(url): no host") }
        guard let user = parts.user, !user.isEmpty else { throw StateError("\(url): no user (postgresql://USER@HOST/DATABASE)") }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw StateError("\(url): no database (postgresql://USER@HOST/DATABASE)") }
        let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host)
        let mode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? (loopback ? "disable" : "verify-full")
        switch mode {
        case "verify-full": break
        case "disable" where loopback: break
        case "disable": throw StateError("\(url): sslmode=disable is for loopback only; \(host) needs TLS (verify-full)")
        default: throw StateError("\(url): sslmode must be verify-full or, on loopback, disable (not \(mode))")
        }
        for item in parts.queryItems ?? [] where item.name != "sslmode" {
            throw StateError("\(url): unknown parameter \(item.name)")
        }
        self.init(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: parts.port ?? 5432, user: user,
                  database: database, password: password, tls: mode == "verify-full", caFile: caFile, timeout: timeout)
    }

    /// The URL without its password, for messages.
    public var location: String { "postgresql://\(user)@\(host):\(port)/\(database)" }
}

/// The state in PostgreSQL through PostgresNIO: one connection per store, every `write`/`read` one transaction
/// (`BEGIN … COMMIT`), run by the calling thread — the store's worker, never Swift's cooperative pool — which waits
/// on NIO's event loop. A connection that broke is opened again at the next transaction; a transaction that was
/// under way when it broke is an error (nothing half-done: PostgreSQL rolls it back).
final class PostgresDatabase: StateDatabase, @unchecked Sendable {
    let settings: PostgresSettings
    var dialect: SQLDialect { .postgresql }
    var location: String { settings.location }

    /// The lease every write must still hold (`StateStore.fence`); nil: unfenced.
    struct Fence: Sendable, Equatable {
        var holder: String
        var epoch: Int64
    }

    /// Held for a whole transaction (the connection is one conversation).
    private let lock = NSLock()
    private var connection: PostgresConnection?
    /// The fence has a lock of its own: a new term sets it at once, never waiting behind a transaction of the old
    /// term that is still under way (it held the lease's renewal for the length of a long write).
    private let fenceLock = NSLock()
    private var fenceValue: Fence?
    var fence: Fence? {
        get { fenceLock.withLock { fenceValue } }
        set { fenceLock.withLock { fenceValue = newValue } }
    }
    private var nextId = 1
    private let logger = Logger(label: "mixer-sync.state.postgresql", factory: { _ in SwiftLogNoOpLogHandler() })
    private static let group = MultiThreadedEventLoopGroup.singleton

    init(_ settings: PostgresSettings) throws {
        self.settings = settings
        try migrate()
    }

    deinit {
        if let connection { _ = try? connection.close().wait() }
    }

    /// A write of a fenced store first proves the lease under a share lock on its row: a takeover (which updates
    /// the row) waits for this transaction, and a lease lost or expired refuses it before anything is written.
    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN") { tx in
            if let fence = self.fence {
                guard try tx.exists("""
                    SELECT 1 FROM lease WHERE name = 'leader' AND holder = ? AND epoch = ? AND expires_at > clock_timestamp()
                    FOR SHARE
                    """, [fence.holder, fence.epoch]) else { throw FencedError(epoch: fence.epoch) }
            }
            return try body(tx)
        }
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T { try transaction("BEGIN READ ONLY", body) }

    /// A write that the fence does not check: only the lease's own rows (taking, renewing, giving it up).
    func writeLease<T>(_ body: (any SQLTransaction) throws -> T) throws -> T { try transaction("BEGIN", body) }

    /// Closes the connection (a test that restarts PostgreSQL, or a process that is done with the state).
    func close() {
        lock.withLock {
            if let connection { _ = try? connection.close().wait() }
            connection = nil
        }
    }

    private func transaction<T>(_ begin: String, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try lock.withLock {
            let tx = Transaction(connection: try connected(), logger: logger, timeout: settings.timeout, location: location)
            do {
                // BEGIN too: on a connection gone silent (a network black hole) it is the first to get no answer.
                try tx.execute(begin)
                let result = try body(tx)
                try tx.execute("COMMIT")
                return result
            } catch {
                if error is NoAnswer {
                    // The connection is in an unknown state: it goes (PostgreSQL rolls back what it held).
                    if let dropped = connection { dropped.close().whenComplete { _ in withExtendedLifetime(dropped) {} } }
                    connection = nil
                } else if let connection, !connection.isClosed {
                    try? tx.execute("ROLLBACK")
                }
                if connection?.isClosed == true { connection = nil }
                throw error
            }
        }
    }

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: try tls())
        configuration.options.connectTimeout = .milliseconds(Int64(settings.timeout * 1000))
        nextId += 1
        var opened: PostgresConnection?
        do {
            let c = try Self.bounded(PostgresConnection.connect(on: Self.group.next(), configuration: configuration, id: nextId,
                                                                logger: logger), seconds: settings.timeout + 2)
            opened = c
            // Bound every statement: a PostgreSQL that stops answering mid-transaction is an error, not a hang.
            _ = try Self.bounded(c.query(PostgresQuery(unsafeSQL: "SET statement_timeout = \(Int(settings.timeout * 1000))"),
                                         logger: logger), seconds: settings.timeout + 2)
            if let idle = settings.idleInTransactionTimeout {
                _ = try Self.bounded(c.query(PostgresQuery(unsafeSQL: "SET idle_in_transaction_session_timeout = \(Int(idle * 1000))"),
                                             logger: logger), seconds: settings.timeout + 2)
            }
            if let wait = settings.lockTimeout {
                _ = try Self.bounded(c.query(PostgresQuery(unsafeSQL: "SET lock_timeout = \(Int(wait * 1000))"), logger: logger),
                                     seconds: settings.timeout + 2)
            }
            connection = c
            return c
        } catch {
            if let c = opened { c.close().whenComplete { _ in withExtendedLifetime(c) {} } }
            throw StateError("cannot reach the PostgreSQL state at \(location): \(Self.describe(error))")
        }
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        guard settings.tls else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let ca = settings.caFile { tls.trustRoots = .file(ca) }
        return .require(try NIOSSLContext(configuration: tls))
    }

    /// Creates or upgrades the tables (`Schema.postgresql`), one version per transaction, recorded in
    /// `schema_version`; an advisory lock keeps two hosts starting together from migrating at once.
    private func migrate() throws {
        try write { tx in
            try tx.execute("SELECT pg_advisory_xact_lock(7305101)")
            try tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
            let done = Set(try tx.rows("SELECT version FROM schema_version").map { try $0.text("version") })
            for (version, sql) in Schema.postgresql where !done.contains(version) {
                // One statement at a time (the extended protocol takes one per message); the DDL has no ';' in text.
                for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    try tx.execute(String(statement))
                }
                try tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", [version, Date()])
            }
        }
    }

    /// No answer from PostgreSQL in time, even to a statement the server should have cancelled itself.
    struct NoAnswer: Error, CustomStringConvertible {
        var seconds: TimeInterval
        var description: String { "the PostgreSQL state gave no answer within \(Int(seconds)) s" }
    }

    /// Waits for `future` on this (non-event-loop) thread, at most `seconds`: a connection that broke in a way
    /// the driver did not notice (seen while PostgreSQL restarted) must not hang the state's thread forever.
    static func bounded<T>(_ future: EventLoopFuture<T>, seconds: TimeInterval) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        future.whenComplete { result in
            box.set(result)
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success, let result = box.get() else { throw NoAnswer(seconds: seconds) }
        return try result.get()
    }

    final class ResultBox<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Result<T, any Error>?
        func set(_ v: Result<T, any Error>) { lock.withLock { value = v } }
        func get() -> Result<T, any Error>? { lock.withLock { value } }
    }

    static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] {
                let code = psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + code
            }
            return "\(psql.code)"
        }
        return "\(error)"
    }

    struct Transaction: SQLTransaction {
        let connection: PostgresConnection
        let logger: Logger
        let timeout: TimeInterval
        let location: String

        func execute(_ sql: String, _ arguments: [any SQLBindable]) throws {
            _ = try run(sql, arguments)
        }

        func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
            try run(sql, arguments).rows.map { row in
                var values: [String: SQLValue] = [:]
                for cell in row { values[cell.columnName] = try Self.value(cell) }
                return SQLRow(values)
            }
        }

        private func run(_ sql: String, _ arguments: [any SQLBindable]) throws -> PostgresQueryResult {
            var binds = PostgresBindings(capacity: arguments.count)
            for argument in arguments {
                switch argument.sqlValue {
                case .null: binds.appendNull()
                case .int(let i): binds.append(i)
                case .double(let d): binds.append(d)
                case .text(let s): binds.append(s)
                case .blob(let b): binds.append(ByteBuffer(bytes: b))
                }
            }
            let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds)
            do {
                return try PostgresDatabase.bounded(connection.query(query, logger: logger), seconds: timeout + 2)
            } catch let noAnswer as NoAnswer {
                throw noAnswer
            } catch {
                throw StateError("the PostgreSQL state at \(location): \(PostgresDatabase.describe(error))")
            }
        }

        /// `?` → `$1`, `$2`, … outside quoted text: the statements are written once, with SQLite's placeholders.
        static func numbered(_ sql: String) -> String {
            var out = ""
            out.reserveCapacity(sql.utf8.count + 16)
            var n = 0
            var quoted = false
            for c in sql {
                if c == "'" { quoted.toggle() }
                if c == "?" && !quoted {
                    n += 1
                    out += "$\(n)"
                } else {
                    out.append(c)
                }
            }
            return out
        }

        static func value(_ cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
            case .float4, .float8: return .double(try cell.decode(Double.self))
            case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}
