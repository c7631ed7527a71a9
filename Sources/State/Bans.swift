import Foundation

/// A ban mixer-sync confirmed through GoTrue (docs/revocation.md): the account, until when, and the run that
/// made it. A reactivation lifts the ban and the row goes.
public struct BanRecord: Sendable, Equatable {
    public var userId: String
    public var email: String?
    public var bannedUntil: Date
    public var runId: String
    public var confirmedAt: Date

    public init(userId: String, email: String?, bannedUntil: Date, runId: String, confirmedAt: Date) {
        self.userId = userId
        self.email = email
        self.bannedUntil = bannedUntil
        self.runId = runId
        self.confirmedAt = confirmedAt
    }
}

extension StateStore {
    public func recordBan(_ ban: BanRecord) throws {
        try db.write { tx in
            try tx.execute("""
                INSERT INTO ban (user_id, email, banned_until, run_id, confirmed_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, banned_until = excluded.banned_until,
                    run_id = excluded.run_id, confirmed_at = excluded.confirmed_at
                """, [ban.userId, ban.email, ban.bannedUntil, ban.runId, ban.confirmedAt])
        }
    }

    public func clearBan(userId: String) throws {
        try db.write { tx in try tx.execute("DELETE FROM ban WHERE user_id = ?", [userId]) }
    }

    /// The ban in force on one account, if mixer-sync made one that has not expired.
    public func ban(userId: String, now: Date) throws -> BanRecord? {
        try bans(where: "user_id = ? AND banned_until > ?", [userId, now]).first
    }

    /// Every ban mixer-sync made that is still in force, by account.
    public func bans(now: Date) throws -> [String: BanRecord] {
        Dictionary(try bans(where: "banned_until > ?", [now]).map { ($0.userId, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func bans(where condition: String, _ arguments: [any SQLBindable]) throws -> [BanRecord] {
        try db.read { tx in
            try tx.rows("SELECT * FROM ban WHERE \(condition)", arguments).map { row in
                BanRecord(userId: try row.text("user_id"), email: try row.textOrNil("email"),
                          bannedUntil: try row.date("banned_until"), runId: try row.text("run_id"),
                          confirmedAt: try row.date("confirmed_at"))
            }
        }
    }
}
