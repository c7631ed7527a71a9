import Foundation

/// Leadership of a pair of hosts sharing a PostgreSQL state (docs/high-availability.md): one lease row, its holder,
/// its epoch and its expiry — in PostgreSQL's clock, never a host's. The leader renews every third of the lease;
/// a standby takes an expired lease over and increments the epoch. Every write transaction of a fenced store checks,
/// under a share lock on that row, that the lease is still this holder's in this epoch and unexpired, so a leader
/// that was paused past its lease commits nothing (and so sends nothing: no call goes out without a committed intent).
public struct Lease: Sendable, Equatable {
    /// Who holds it: host, PID and a random part (two processes on one host differ).
    public var holder: String
    public var host: String
    public var epoch: Int64
    /// Seconds left on PostgreSQL's clock when this was read (negative: expired).
    public var remaining: Double
    /// Seconds since the holder last renewed it (PostgreSQL's clock).
    public var age: Double

    public init(holder: String, host: String, epoch: Int64, remaining: Double, age: Double) {
        self.holder = holder
        self.host = host
        self.epoch = epoch
        self.remaining = remaining
        self.age = age
    }
}

/// A write refused because this process no longer holds the lease it wrote under.
public struct FencedError: Error, CustomStringConvertible, Sendable {
    public var epoch: Int64
    public var description: String { "not the leader any more (lease epoch \(epoch) lost): nothing was written" }
}

extension StateStore {
    /// This process's identity as a lease holder.
    public static func leaseHolder() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Takes the lease if it is free or expired (a new epoch), or renews it if `holder` has it and it has not expired
    /// (the same epoch). Returns the lease as it now stands: `holder`'s on success, the other holder's otherwise.
    public func acquireLease(holder: String, host: String, duration: TimeInterval) throws -> Lease {
        guard let pg = db as? PostgresDatabase else { throw StateError("a lease needs the PostgreSQL state") }
        let ms = Int64((duration * 1000).rounded())
        return try pg.writeLease { tx in
            try tx.execute("""
                INSERT INTO lease (name, holder, host, epoch, expires_at, renewed_at)
                VALUES ('leader', ?, ?, 1, clock_timestamp() + ? * interval '1 millisecond', clock_timestamp())
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, host = excluded.host,
                    epoch = CASE WHEN lease.holder = excluded.holder AND lease.expires_at > clock_timestamp()
                                 THEN lease.epoch ELSE lease.epoch + 1 END,
                    expires_at = excluded.expires_at, renewed_at = clock_timestamp()
                WHERE (lease.holder = excluded.holder AND lease.expires_at > clock_timestamp())
                   OR lease.expires_at <= clock_timestamp()
                """, [holder, host, ms])
            return try Self.readLease(tx)
        }
    }

    /// The lease as PostgreSQL has it now, or nil before anyone took it.
    public func currentLease() throws -> Lease? {
        guard db.dialect == .postgresql else { return nil }
        return try db.read { tx in try tx.exists("SELECT 1 FROM lease") ? Self.readLease(tx) : nil }
    }

    /// Gives the lease up at once (a clean stop): the standby need not wait for it to expire.
    public func releaseLease(holder: String) throws {
        guard let pg = db as? PostgresDatabase else { return }
        try pg.writeLease { tx in
            try tx.execute("UPDATE lease SET expires_at = clock_timestamp() WHERE name = 'leader' AND holder = ?", [holder])
        }
    }

    /// From now on every write transaction of this store commits only while `holder` holds the lease in `epoch`
    /// (nil: unfenced, a single host).
    public func fence(holder: String, epoch: Int64) {
        (db as? PostgresDatabase)?.fence = .init(holder: holder, epoch: epoch)
    }

    public func unfence() { (db as? PostgresDatabase)?.fence = nil }

    private static func readLease(_ tx: any SQLTransaction) throws -> Lease {
        guard let row = try tx.row("""
            SELECT holder, host, epoch,
                   EXTRACT(EPOCH FROM (expires_at - clock_timestamp()))::float8 AS remaining,
                   EXTRACT(EPOCH FROM (clock_timestamp() - renewed_at))::float8 AS age
            FROM lease WHERE name = 'leader'
            """) else { throw StateError("the lease row is missing") }
        return Lease(holder: try row.text("holder"), host: try row.text("host"), epoch: Int64(try row.int("epoch")),
                     remaining: try row.double("remaining"), age: try row.double("age"))
    }
}
