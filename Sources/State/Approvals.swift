import Foundation
import Reconcile

/// Gate history and approvals: a held plan is recorded by its hash; `approve HASH` releases exactly that plan,
/// once. Also the last good snapshot and the rolling 24-hour deactivation window (docs/reconciling.md).
extension StateStore {
    public enum ApprovalResult: Equatable, Sendable {
        case approved
        /// No held plan has this hash.
        case unknown
        /// Already approved (and perhaps used): an approval is good for one apply.
        case alreadyApproved
    }

    public func recordGates(runId: String, planHash: String, held: Bool, verdicts: [GateVerdict], changes: Int, at: Date) throws {
        try db.write { tx in
            try tx.execute("INSERT INTO gate_history (run_id, at, plan_hash, held, verdicts, changes) VALUES (?, ?, ?, ?, ?, ?)",
                           [runId, at, planHash, held, try Self.encode(verdicts), changes])
        }
    }

    public func approve(planHash: String, at: Date) throws -> ApprovalResult {
        try db.write { tx in
            guard try tx.exists("SELECT 1 FROM gate_history WHERE plan_hash = ? AND held = 1 LIMIT 1", [planHash]) else {
                return .unknown
            }
            if try tx.exists("SELECT 1 FROM approval WHERE plan_hash = ?", [planHash]) { return .alreadyApproved }
            try tx.execute("INSERT INTO approval (plan_hash, approved_at) VALUES (?, ?)", [planHash, at])
            return .approved
        }
    }

    /// Whether an unused approval exists for this hash.
    public func isApproved(planHash: String) throws -> Bool {
        try db.read { tx in try tx.exists("SELECT 1 FROM approval WHERE plan_hash = ? AND used_at IS NULL", [planHash]) }
    }

    /// Uses the approval up: the same hash is not released twice.
    public func consumeApproval(planHash: String, runId: String, at: Date) throws {
        try db.write { tx in
            try tx.execute("UPDATE approval SET used_at = ?, used_run = ? WHERE plan_hash = ? AND used_at IS NULL",
                           [at, runId, planHash])
        }
    }

    /// Held plans not yet approved, newest first.
    public func heldPlans(limit: Int = 10) throws -> [(hash: String, at: Date, changes: Int)] {
        // The latest hold of each hash (its time and change count), in SQL both backends accept.
        try db.read { tx in
            try tx.rows("""
                SELECT g.plan_hash, g.at, g.changes FROM gate_history g WHERE g.held = 1
                  AND NOT EXISTS (SELECT 1 FROM approval a WHERE a.plan_hash = g.plan_hash)
                  AND g.id = (SELECT h.id FROM gate_history h WHERE h.plan_hash = g.plan_hash AND h.held = 1
                              ORDER BY h.at DESC, h.id DESC LIMIT 1)
                ORDER BY g.at DESC LIMIT ?
                """, [limit]).map { (try $0.text("plan_hash"), try $0.date("at"), try $0.int("changes")) }
        }
    }

    // MARK: - Last good snapshot

    public func recordSnapshot(runId: String, inScope: Int, people: Int, good: Bool, at: Date) throws {
        try db.write { tx in
            try tx.execute("""
                INSERT INTO snapshot (run_id, at, in_scope, people, good) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (run_id) DO UPDATE SET at = excluded.at, in_scope = excluded.in_scope, people = excluded.people,
                    good = excluded.good
                """, [runId, at, inScope, people, good])
        }
    }

    /// In-scope people of the last complete snapshot whose plan was applied or approved.
    public func lastGoodInScope() throws -> Int? {
        try db.read { tx in try tx.row("SELECT in_scope FROM snapshot WHERE good = 1 ORDER BY at DESC LIMIT 1")?.int("in_scope") }
    }

    // MARK: - Rolling deactivation window

    public func recordDeactivation(userId: String, approved: Bool, at: Date) throws {
        try db.write { tx in
            try tx.execute("INSERT INTO deactivation (at, user_id, approved) VALUES (?, ?, ?)", [at, userId, approved])
        }
    }

    /// Deactivations applied since `since`, not counting those released by an approval.
    public func deactivations(since: Date) throws -> Int {
        try db.read { tx in
            try tx.row("SELECT COUNT(*) AS n FROM deactivation WHERE at >= ? AND approved = 0", [since])?.intOrNil("n") ?? 0
        }
    }
}
