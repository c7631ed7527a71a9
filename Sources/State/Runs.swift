import Foundation
import GRDB

/// One run as `status` lists it.
public struct RunRecord: Sendable, Equatable, Codable {
    public var runId: String
    public var at: Date
    public var mode: String
    public var outcome: String
    public var planHash: String?
    public var changes: Int
    public var applied: Int
    public var escrow: Int
    public var report: String?
    public var durationMs: Int
    public var error: String?

    public init(runId: String, at: Date, mode: String, outcome: String, planHash: String?, changes: Int, applied: Int,
                escrow: Int, report: String?, durationMs: Int, error: String?) {
        self.runId = runId
        self.at = at
        self.mode = mode
        self.outcome = outcome
        self.planHash = planHash
        self.changes = changes
        self.applied = applied
        self.escrow = escrow
        self.report = report
        self.durationMs = durationMs
        self.error = error
    }
}

extension StateStore {
    public func recordRun(_ r: RunRecord) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO run (run_id, at, mode, outcome, plan_hash, changes, applied, escrow, report, duration_ms, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [r.runId, r.at.timeIntervalSince1970, r.mode, r.outcome, r.planHash, r.changes, r.applied,
                                 r.escrow, r.report, r.durationMs, r.error])
        }
    }

    public func recentRuns(limit: Int = 10) throws -> [RunRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run ORDER BY at DESC LIMIT ?", arguments: [limit]).map { row in
                RunRecord(runId: row["run_id"], at: Date(timeIntervalSince1970: row["at"]), mode: row["mode"],
                          outcome: row["outcome"], planHash: row["plan_hash"], changes: row["changes"], applied: row["applied"],
                          escrow: row["escrow"], report: row["report"], durationMs: row["duration_ms"], error: row["error"])
            }
        }
    }
}
