import Foundation
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
    /// When the MixerAI view the change was planned from was read (nil: items queued before this was recorded).
    public var viewAt: Date?
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
    /// Puts changes in the queue. An account already queued keeps its place and its first `seen_at`, and takes the
    /// newer change. With `replacingItemsBefore` (a full run: when its reads began), every item queued before then and
    /// not named again is dropped — the plan was made from fresher reads — while items the change feed queued
    /// during the run stay.
    public func enqueue(_ changes: [Change], source: QueueItem.Source, runId: String, planHash: String, approved: Bool,
                        profiles: [String: AccountProfile] = [:], seenAt: Date? = nil, viewAt: Date? = nil, at: Date,
                        replacingItemsBefore: Date? = nil) throws {
        try db.write { tx in
            var keys: Set<String> = []
            for change in changes {
                let key = QueueItem.key(change)
                keys.insert(key)
                let profile = try change.mixerUserId.flatMap { profiles[$0] }.map(Self.encode)
                try tx.execute("""
                    INSERT INTO queue (key, urgency, source, run_id, plan_hash, approved, kind, change, profile, seen_at,
                        view_at, enqueued_at, not_before)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                    ON CONFLICT (key) DO UPDATE SET urgency = excluded.urgency, source = excluded.source,
                        run_id = excluded.run_id,
                        plan_hash = excluded.plan_hash, approved = excluded.approved, kind = excluded.kind,
                        change = excluded.change, profile = COALESCE(excluded.profile, queue.profile),
                        seen_at = COALESCE(queue.seen_at, excluded.seen_at), view_at = excluded.view_at
                    """, [key, change.urgency.rawValue, source.rawValue, runId, planHash, approved,
                          change.kind.rawValue, try Self.encode(change), profile, seenAt, viewAt, at])
            }
            if let before = replacingItemsBefore {
                for row in try tx.rows("SELECT key FROM queue WHERE enqueued_at < ?", [before]) {
                    let key = try row.text("key")
                    if !keys.contains(key) { try tx.execute("DELETE FROM queue WHERE key = ?", [key]) }
                }
            }
        }
    }

    /// Withdraws the change feed's items queued by these runs (a later pass of their burst was held, or no longer
    /// plans them), all of them or only those with these keys.
    @discardableResult
    public func withdraw(runs: Set<String>, keys: Set<String>? = nil) throws -> Int {
        guard !runs.isEmpty, keys?.isEmpty != true else { return 0 }
        return try db.write { tx in
            let runMarks = Array(repeating: "?", count: runs.count).joined(separator: ", ")
            var sql = "DELETE FROM queue WHERE source = 'feed' AND run_id IN (\(runMarks))"
            var values: [String] = Array(runs)
            if let keys {
                sql += " AND key IN (" + Array(repeating: "?", count: keys.count).joined(separator: ", ") + ")"
                values += Array(keys)
            }
            return try tx.rows(sql + " RETURNING id", values).count
        }
    }

    /// Drops every item of a source (a held full plan applies nothing of its own).
    public func dropQueued(source: QueueItem.Source) throws {
        try db.write { tx in try tx.execute("DELETE FROM queue WHERE source = ?", [source.rawValue]) }
    }

    /// How many changes wait, and how many of them are offboardings (cheap: no item is decoded).
    public func queueDepth() throws -> (all: Int, offboardings: Int) {
        try db.read { tx in
            let row = try tx.row("SELECT COUNT(*) AS n, SUM(CASE WHEN urgency = 0 THEN 1 ELSE 0 END) AS o FROM queue")
            return (try row?.intOrNil("n") ?? 0, try row?.intOrNil("o") ?? 0)
        }
    }

    /// Offboardings still waiting: shown as PENDING OFFBOARD at the top of every report and in `status`.
    public func pendingOffboards() throws -> [QueueItem] {
        try db.read { tx in try tx.rows("SELECT * FROM queue WHERE urgency = 0 ORDER BY enqueued_at, id").map(Self.item) }
    }

    /// Every item, in the order they are taken: urgency, then arrival.
    public func queued() throws -> [QueueItem] {
        try db.read { tx in try tx.rows("SELECT * FROM queue ORDER BY urgency, enqueued_at, id").map(Self.item) }
    }

    /// The first item that may be tried at `now`, is at most `maxUrgency` and was not queued by `except`, and the
    /// earliest time a held-back item becomes due.
    public func nextQueued(now: Date, maxUrgency: Urgency = .cleanup,
                           except: QueueItem.Source? = nil) throws -> (item: QueueItem?, nextDue: Date?) {
        try db.read { tx in
            let row = try tx.row("""
                SELECT * FROM queue WHERE not_before <= ? AND urgency <= ? AND source != ?
                ORDER BY urgency, enqueued_at, id LIMIT 1
                """, [now, maxUrgency.rawValue, except?.rawValue ?? ""])
            let due = try tx.row("SELECT MIN(not_before) AS due FROM queue WHERE not_before > ?", [now])?.dateOrNil("due")
            return (try row.map(Self.item), due)
        }
    }

    /// The item is done (applied, or proven unnecessary).
    public func dequeue(_ id: Int64) throws {
        try db.write { tx in try tx.execute("DELETE FROM queue WHERE id = ?", [id]) }
    }

    /// The item failed or must wait: tried again after `until`.
    public func defer_(_ id: Int64, until: Date, error: String, countAttempt: Bool) throws {
        try db.write { tx in
            try tx.execute("UPDATE queue SET not_before = ?, last_error = ?, attempts = attempts + ? WHERE id = ?",
                           [until, error, countAttempt ? 1 : 0, id])
        }
    }

    // MARK: - The change feed's cookie

    public func feedCookie(scope: String) throws -> [UInt8]? {
        try db.read { tx in try tx.row("SELECT cookie FROM feed_cookie WHERE scope = ?", [scope])?.bytesOrNil("cookie") }
    }

    public func saveFeedCookie(_ cookie: [UInt8]?, scope: String, at: Date) throws {
        try db.write { tx in
            if let cookie {
                try tx.execute("""
                    INSERT INTO feed_cookie (scope, cookie, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (scope) DO UPDATE SET cookie = excluded.cookie, updated_at = excluded.updated_at
                    """, [scope, cookie, at])
            } else {
                try tx.execute("DELETE FROM feed_cookie WHERE scope = ?", [scope])
            }
        }
    }

    static func item(_ row: SQLRow) throws -> QueueItem {
        QueueItem(id: Int64(try row.int("id")), key: try row.text("key"),
                  source: QueueItem.Source(rawValue: try row.text("source")) ?? .full,
                  runId: try row.text("run_id"), planHash: try row.text("plan_hash"), approved: try row.bool("approved"),
                  change: try decode(Change.self, row.text("change")),
                  profile: try row.textOrNil("profile").map { try decode(AccountProfile.self, $0) },
                  seenAt: try row.dateOrNil("seen_at"), enqueuedAt: try row.date("enqueued_at"),
                  viewAt: try row.dateOrNil("view_at"),
                  notBefore: try row.date("not_before"), attempts: try row.int("attempts"),
                  lastError: try row.textOrNil("last_error"))
    }
}
