import Foundation
import GRDB

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
    static func registerBans(_ m: inout DatabaseMigrator) {
        m.registerMigration("v3-bans") { db in
            try db.execute(sql: """
                CREATE TABLE ban (user_id TEXT PRIMARY KEY, email TEXT, banned_until REAL NOT NULL, run_id TEXT NOT NULL,
                    confirmed_at REAL NOT NULL);
                """)
        }
    }

    public func recordBan(_ ban: BanRecord) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO ban (user_id, email, banned_until, run_id, confirmed_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [ban.userId, ban.email, ban.bannedUntil.timeIntervalSince1970, ban.runId,
                                 ban.confirmedAt.timeIntervalSince1970])
        }
    }

    public func clearBan(userId: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM ban WHERE user_id = ?", arguments: [userId]) }
    }

    /// The ban in force on one account, if mixer-sync made one that has not expired.
    public func ban(userId: String, now: Date) throws -> BanRecord? {
        try bans(where: "user_id = ? AND banned_until > ?", [userId, now.timeIntervalSince1970]).first
    }

    /// Every ban mixer-sync made that is still in force, by account.
    public func bans(now: Date) throws -> [String: BanRecord] {
        Dictionary(try bans(where: "banned_until > ?", [now.timeIntervalSince1970]).map { ($0.userId, $0) },
                   uniquingKeysWith: { a, _ in a })
    }

    func bans(where condition: String, _ arguments: StatementArguments) throws -> [BanRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ban WHERE \(condition)", arguments: arguments).map { row in
                BanRecord(userId: row["user_id"], email: row["email"],
                          bannedUntil: Date(timeIntervalSince1970: row["banned_until"]), runId: row["run_id"],
                          confirmedAt: Date(timeIntervalSince1970: row["confirmed_at"]))
            }
        }
    }
}
