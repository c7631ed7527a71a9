import Foundation
import GRDB
import Reconcile

/// One journaled intent: a change mixer-sync is about to make, written before its first MixerAI call and moved
/// through planned → sent → confirmed / failed / ambiguous. After a crash, rows still planned, sent or ambiguous
/// are resolved by reading MixerAI back before anything new is done.
public struct Intent: Sendable, Equatable {
    public enum Status: String, Sendable { case planned, sent, confirmed, failed, ambiguous }

    public var id: Int64
    public var runId: String
    public var planHash: String
    public var change: Change
    /// The call in flight or last made: invite, put, deactivate, reactivate, delete.
    public var step: String
    public var status: Status
    /// The MixerAI id once known (an invite learns it from the answer or the read-back).
    public var userId: String?
    public var error: String?
}

extension StateStore {
    public func journalBegin(runId: String, planHash: String, change: Change, step: String, at: Date) throws -> Int64 {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO journal (run_id, plan_hash, kind, anchor, email, user_id, change, step, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?)
                """, arguments: [runId, planHash, change.kind.rawValue, change.anchor, change.email, change.mixerUserId,
                                 try Self.encode(change), step, at.timeIntervalSince1970, at.timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    public func journalMark(_ id: Int64, status: Intent.Status, step: String? = nil, userId: String? = nil,
                            error: String? = nil, at: Date) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE journal SET status = ?, step = COALESCE(?, step), user_id = COALESCE(?, user_id),
                    error = ?, updated_at = ? WHERE id = ?
                """, arguments: [status.rawValue, step, userId, error, at.timeIntervalSince1970, id])
        }
    }

    /// Intents a crash or an ambiguous answer left unresolved, oldest first.
    /// Retention: settled intents (confirmed, failed) and run records older than `cutoff` are deleted; an
    /// unfinished intent is kept whatever its age (recovery settles it). Returns how many rows went.
    @discardableResult
    public func pruneHistory(before cutoff: Date) throws -> Int {
        try db.write { db in
            try db.execute(sql: "DELETE FROM journal WHERE status IN ('confirmed', 'failed') AND updated_at < ?",
                           arguments: [cutoff.timeIntervalSince1970])
            var gone = db.changesCount
            try db.execute(sql: "DELETE FROM run WHERE at < ?", arguments: [cutoff.timeIntervalSince1970])
            gone += db.changesCount
            return gone
        }
    }

    /// Confirmed changes per run, for these runs: what the drainer applied of what a run queued.
    public func confirmedChanges(runIds: [String]) throws -> [String: Int] {
        guard !runIds.isEmpty else { return [:] }
        return try db.read { db in
            var out: [String: Int] = [:]
            let marks = Array(repeating: "?", count: runIds.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: """
                SELECT run_id, COUNT(*) AS n FROM journal WHERE status = 'confirmed' AND run_id IN (\(marks)) GROUP BY run_id
                """, arguments: StatementArguments(runIds)) { out[row["run_id"]] = row["n"] }
            return out
        }
    }

    public func unfinishedIntents() throws -> [Intent] {
        try intents(where: "status IN ('planned', 'sent', 'ambiguous')")
    }

    public func intents(runId: String) throws -> [Intent] {
        try intents(where: "run_id = ?", [runId])
    }

    func intents(where condition: String, _ arguments: StatementArguments = []) throws -> [Intent] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM journal WHERE \(condition) ORDER BY id", arguments: arguments).map { row in
                Intent(id: row["id"], runId: row["run_id"], planHash: row["plan_hash"],
                       change: try Self.decode(Change.self, row["change"]), step: row["step"],
                       status: Intent.Status(rawValue: row["status"]) ?? .failed, userId: row["user_id"], error: row["error"])
            }
        }
    }
}
