import Foundation

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
        try db.write { tx in
            try tx.execute("""
                INSERT INTO run (run_id, at, mode, outcome, plan_hash, changes, applied, escrow, report, duration_ms, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (run_id) DO UPDATE SET at = excluded.at, mode = excluded.mode, outcome = excluded.outcome,
                    plan_hash = excluded.plan_hash, changes = excluded.changes, applied = excluded.applied,
                    escrow = excluded.escrow, report = excluded.report, duration_ms = excluded.duration_ms,
                    error = excluded.error
                """, [r.runId, r.at, r.mode, r.outcome, r.planHash, r.changes, r.applied, r.escrow, r.report,
                      r.durationMs, r.error])
        }
    }

    public func recentRuns(limit: Int = 10) throws -> [RunRecord] {
        try db.read { tx in
            try tx.rows("SELECT * FROM run ORDER BY at DESC LIMIT ?", [limit]).map { row in
                RunRecord(runId: try row.text("run_id"), at: try row.date("at"), mode: try row.text("mode"),
                          outcome: try row.text("outcome"), planHash: try row.textOrNil("plan_hash"),
                          changes: try row.int("changes"), applied: try row.int("applied"), escrow: try row.int("escrow"),
                          report: try row.textOrNil("report"), durationMs: try row.int("duration_ms"),
                          error: try row.textOrNil("error"))
            }
        }
    }
}
