import Foundation
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
        try db.write { tx in
            let row = try tx.row("""
                INSERT INTO journal (run_id, plan_hash, kind, anchor, email, user_id, change, step, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?) RETURNING id
                """, [runId, planHash, change.kind.rawValue, change.anchor, change.email, change.mixerUserId,
                      try Self.encode(change), step, at, at])
            guard let id = try row?.intOrNil("id") else { throw StateError("the journal gave no id for a new intent") }
            return Int64(id)
        }
    }

    public func journalMark(_ id: Int64, status: Intent.Status, step: String? = nil, userId: String? = nil,
                            error: String? = nil, at: Date) throws {
        try db.write { tx in
            try tx.execute("""
                UPDATE journal SET status = ?, step = COALESCE(?, step), user_id = COALESCE(?, user_id),
                    error = ?, updated_at = ? WHERE id = ?
                """, [status.rawValue, step, userId, error, at, id])
        }
    }

    /// Retention: settled intents (confirmed, failed) and run records older than `cutoff` are deleted; an
    /// unfinished intent is kept whatever its age (recovery settles it). Returns how many rows went.
    @discardableResult
    public func pruneHistory(before cutoff: Date) throws -> Int {
        try db.write { tx in
            let intents = try tx.rows("DELETE FROM journal WHERE status IN ('confirmed', 'failed') AND updated_at < ? RETURNING id",
                                      [cutoff])
            let runs = try tx.rows("DELETE FROM run WHERE at < ? RETURNING run_id", [cutoff])
            return intents.count + runs.count
        }
    }

    /// Confirmed changes per run, for these runs: what the drainer applied of what a run queued.
    public func confirmedChanges(runIds: [String]) throws -> [String: Int] {
        guard !runIds.isEmpty else { return [:] }
        return try db.read { tx in
            var out: [String: Int] = [:]
            let marks = Array(repeating: "?", count: runIds.count).joined(separator: ",")
            for row in try tx.rows("""
                SELECT run_id, COUNT(*) AS n FROM journal WHERE status = 'confirmed' AND run_id IN (\(marks)) GROUP BY run_id
                """, runIds) { out[try row.text("run_id")] = try row.int("n") }
            return out
        }
    }

    /// Intents a crash or an ambiguous answer left unresolved, oldest first.
    public func unfinishedIntents() throws -> [Intent] {
        try intents(where: "status IN ('planned', 'sent', 'ambiguous')")
    }

    /// Intents confirmed at or after `since` (the drainer asks whether a queued change was already made).
    public func confirmedIntents(since: Date) throws -> [Intent] {
        try intents(where: "status = 'confirmed' AND updated_at >= ?", [since])
    }

    public func intents(runId: String) throws -> [Intent] {
        try intents(where: "run_id = ?", [runId])
    }

    func intents(where condition: String, _ arguments: [any SQLBindable] = []) throws -> [Intent] {
        try db.read { tx in
            try tx.rows("SELECT * FROM journal WHERE \(condition) ORDER BY id", arguments).map { row in
                Intent(id: Int64(try row.int("id")), runId: try row.text("run_id"), planHash: try row.text("plan_hash"),
                       change: try Self.decode(Change.self, row.text("change")), step: try row.text("step"),
                       status: Intent.Status(rawValue: try row.text("status")) ?? .failed, userId: try row.textOrNil("user_id"),
                       error: try row.textOrNil("error"))
            }
        }
    }
}
