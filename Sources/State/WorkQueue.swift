import Foundation
import GRDB
import Reconcile

/// What the writes need to know of an account beyond the change: its profile (a PUT is a full replacement, so
/// the stripping PUT carries it) and whether it is a pending invite (its grant is then kept in the state).
public struct AccountProfile: Sendable, Equatable, Codable {
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?
    public var pending: Bool

    public init(fullName: String?, jobTitle: String?, company: String?, pending: Bool) {
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
        self.pending = pending
    }
}

/// One change waiting for MixerAI's write budget in the durable queue (`queue` table). At most one item per
/// account: a newer plan for the same account replaces the item's change.
public struct QueueItem: Sendable, Equatable {
    public enum Source: String, Sendable { case full, feed }

    public var id: Int64
    public var key: String
    public var source: Source
    public var runId: String
    public var planHash: String
    /// Released by an approval: its deactivations do not count in the rolling window.
    public var approved: Bool
    public var change: Change
    /// The account's profile as MixerAI showed it (the stripping PUT keeps it: a full replacement).
    public var profile: AccountProfile?
    /// When the directory change that caused it was seen (the change feed), for the offboarding latency.
    public var seenAt: Date?
    public var enqueuedAt: Date
    /// Not tried again before this (escrow backoff, or the write window's reset).
    public var notBefore: Date
    public var attempts: Int
    public var lastError: String?

    /// The queue's key for a change: the MixerAI account, or the directory anchor for an invite.
    public static func key(_ change: Change) -> String {
        if let id = change.mixerUserId { return "id:" + id }
        return "anchor:" + (change.anchor ?? change.email ?? "")
    }
}

extension StateStore {
    static func registerQueue(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2-queue") { db in
            try db.execute(sql: """
                CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, urgency INTEGER NOT NULL,
                    source TEXT NOT NULL, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL, approved INTEGER NOT NULL,
                    kind TEXT NOT NULL, change TEXT NOT NULL, profile TEXT, seen_at REAL, enqueued_at REAL NOT NULL,
                    not_before REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
                CREATE INDEX queue_order ON queue(urgency, enqueued_at, id);
                CREATE TABLE feed_cookie (scope TEXT PRIMARY KEY, cookie BLOB NOT NULL, updated_at REAL NOT NULL);
                """)
        }
    }

    /// Puts changes in the queue. An account already queued keeps its place and its first `seen_at`, and takes the
    /// newer change. With `replacingItemsBefore` (a full run: when its reads began), every item queued before then and
    /// not named again is dropped — the plan was made from fresher reads — while items the change feed queued
    /// during the run stay.
    public func enqueue(_ changes: [Change], source: QueueItem.Source, runId: String, planHash: String, approved: Bool,
                        profiles: [String: AccountProfile] = [:], seenAt: Date? = nil, at: Date,
                        replacingItemsBefore: Date? = nil) throws {
        try db.write { db in
            var keys: Set<String> = []
            for change in changes {
                let key = QueueItem.key(change)
                keys.insert(key)
                let profile = try change.mixerUserId.flatMap { profiles[$0] }.map(Self.encode)
                try db.execute(sql: """
                    INSERT INTO queue (key, urgency, source, run_id, plan_hash, approved, kind, change, profile, seen_at,
                        enqueued_at, not_before)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                    ON CONFLICT(key) DO UPDATE SET urgency = excluded.urgency, source = excluded.source,
                        run_id = excluded.run_id,
                        plan_hash = excluded.plan_hash, approved = excluded.approved, kind = excluded.kind,
                        change = excluded.change, profile = COALESCE(excluded.profile, profile),
                        seen_at = COALESCE(seen_at, excluded.seen_at)
                    """, arguments: [key, change.urgency.rawValue, source.rawValue, runId, planHash, approved,
                                     change.kind.rawValue, try Self.encode(change), profile,
                                     seenAt?.timeIntervalSince1970, at.timeIntervalSince1970])
            }
            if let before = replacingItemsBefore {
                let stale = try String.fetchAll(db, sql: "SELECT key FROM queue WHERE enqueued_at < ?",
                                                arguments: [before.timeIntervalSince1970])
                for key in stale where !keys.contains(key) {
                    try db.execute(sql: "DELETE FROM queue WHERE key = ?", arguments: [key])
                }
            }
        }
    }

    /// Withdraws the change feed's items queued by these runs (a later pass of their burst was held, or no longer
    /// plans them), all of them or only those with these keys.
    @discardableResult
    public func withdraw(runs: Set<String>, keys: Set<String>? = nil) throws -> Int {
        guard !runs.isEmpty, keys?.isEmpty != true else { return 0 }
        return try db.write { db in
            let runMarks = Array(repeating: "?", count: runs.count).joined(separator: ", ")
            var sql = "DELETE FROM queue WHERE source = 'feed' AND run_id IN (\(runMarks))"
            var values: [String] = Array(runs)
            if let keys {
                sql += " AND key IN (" + Array(repeating: "?", count: keys.count).joined(separator: ", ") + ")"
                values += Array(keys)
            }
            try db.execute(sql: sql, arguments: StatementArguments(values))
            return db.changesCount
        }
    }

    /// Drops every item of a source (a held full plan applies nothing of its own).
    public func dropQueued(source: QueueItem.Source) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM queue WHERE source = ?", arguments: [source.rawValue]) }
    }

    /// How many changes wait, and how many of them are offboardings (cheap: no item is decoded).
    public func queueDepth() throws -> (all: Int, offboardings: Int) {
        try db.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, SUM(urgency = 0) AS o FROM queue")
            return (row?["n"] ?? 0, row?["o"] ?? 0)
        }
    }

    /// Offboardings still waiting: shown as PENDING OFFBOARD at the top of every report and in `status`.
    public func pendingOffboards() throws -> [QueueItem] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue WHERE urgency = 0 ORDER BY enqueued_at, id").map(Self.item)
        }
    }

    /// Every item, in the order they are taken: urgency, then arrival.
    public func queued() throws -> [QueueItem] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue ORDER BY urgency, enqueued_at, id").map(Self.item)
        }
    }

    /// The first item that may be tried at `now`, is at most `maxUrgency` and was not queued by `except`, and the
    /// earliest time a held-back item becomes due.
    public func nextQueued(now: Date, maxUrgency: Urgency = .cleanup,
                           except: QueueItem.Source? = nil) throws -> (item: QueueItem?, nextDue: Date?) {
        try db.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT * FROM queue WHERE not_before <= ? AND urgency <= ? AND source != ?
                ORDER BY urgency, enqueued_at, id LIMIT 1
                """, arguments: [now.timeIntervalSince1970, maxUrgency.rawValue, except?.rawValue ?? ""])
            let due = try Double.fetchOne(db, sql: "SELECT MIN(not_before) FROM queue WHERE not_before > ?",
                                          arguments: [now.timeIntervalSince1970])
            return (try row.map(Self.item), due.map { Date(timeIntervalSince1970: $0) })
        }
    }

    /// The item is done (applied, or proven unnecessary).
    public func dequeue(_ id: Int64) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM queue WHERE id = ?", arguments: [id]) }
    }

    /// The item failed or must wait: tried again after `until`.
    public func defer_(_ id: Int64, until: Date, error: String, countAttempt: Bool) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE queue SET not_before = ?, last_error = ?, attempts = attempts + ? WHERE id = ?",
                           arguments: [until.timeIntervalSince1970, error, countAttempt ? 1 : 0, id])
        }
    }

    // MARK: - The change feed's cookie

    public func feedCookie(scope: String) throws -> [UInt8]? {
        try db.read { db in
            try Data.fetchOne(db, sql: "SELECT cookie FROM feed_cookie WHERE scope = ?", arguments: [scope]).map { Array($0) }
        }
    }

    public func saveFeedCookie(_ cookie: [UInt8]?, scope: String, at: Date) throws {
        try db.write { db in
            if let cookie {
                try db.execute(sql: "INSERT OR REPLACE INTO feed_cookie (scope, cookie, updated_at) VALUES (?, ?, ?)",
                               arguments: [scope, Data(cookie), at.timeIntervalSince1970])
            } else {
                try db.execute(sql: "DELETE FROM feed_cookie WHERE scope = ?", arguments: [scope])
            }
        }
    }

    static func item(_ row: Row) throws -> QueueItem {
        QueueItem(id: row["id"], key: row["key"], source: QueueItem.Source(rawValue: row["source"]) ?? .full,
                  runId: row["run_id"], planHash: row["plan_hash"], approved: row["approved"],
                  change: try decode(Change.self, row["change"]),
                  profile: try (row["profile"] as String?).map { try decode(AccountProfile.self, $0) },
                  seenAt: (row["seen_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
                  enqueuedAt: Date(timeIntervalSince1970: row["enqueued_at"]),
                  notBefore: Date(timeIntervalSince1970: row["not_before"]), attempts: row["attempts"],
                  lastError: row["last_error"])
    }
}
