import Foundation
import GRDB
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
        try db.write { db in
            try db.execute(sql: "INSERT INTO gate_history (run_id, at, plan_hash, held, verdicts, changes) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [runId, at.timeIntervalSince1970, planHash, held, try Self.encode(verdicts), changes])
        }
    }

    public func approve(planHash: String, at: Date) throws -> ApprovalResult {
        try db.write { db in
            let held = try Bool.fetchOne(db, sql: "SELECT 1 FROM gate_history WHERE plan_hash = ? AND held = 1 LIMIT 1",
                                         arguments: [planHash]) ?? false
            guard held else { return .unknown }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM approval WHERE plan_hash = ?", arguments: [planHash]) ?? false {
                return .alreadyApproved
            }
            try db.execute(sql: "INSERT INTO approval (plan_hash, approved_at) VALUES (?, ?)",
                           arguments: [planHash, at.timeIntervalSince1970])
            return .approved
        }
    }

    /// Whether an unused approval exists for this hash.
    public func isApproved(planHash: String) throws -> Bool {
        try db.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM approval WHERE plan_hash = ? AND used_at IS NULL", arguments: [planHash]) ?? false
        }
    }

    /// Uses the approval up: the same hash is not released twice.
    public func consumeApproval(planHash: String, runId: String, at: Date) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE approval SET used_at = ?, used_run = ? WHERE plan_hash = ? AND used_at IS NULL",
                           arguments: [at.timeIntervalSince1970, runId, planHash])
        }
    }

    /// Held plans not yet approved, newest first.
    public func heldPlans(limit: Int = 10) throws -> [(hash: String, at: Date, changes: Int)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT plan_hash, MAX(at) AS at, changes FROM gate_history g WHERE held = 1
                  AND NOT EXISTS (SELECT 1 FROM approval a WHERE a.plan_hash = g.plan_hash)
                GROUP BY plan_hash ORDER BY at DESC LIMIT ?
                """, arguments: [limit]).map { ($0["plan_hash"], Date(timeIntervalSince1970: $0["at"]), $0["changes"]) }
        }
    }

    // MARK: - Last good snapshot

    public func recordSnapshot(runId: String, inScope: Int, people: Int, good: Bool, at: Date) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO snapshot (run_id, at, in_scope, people, good) VALUES (?, ?, ?, ?, ?)",
                           arguments: [runId, at.timeIntervalSince1970, inScope, people, good])
        }
    }

    /// In-scope people of the last complete snapshot whose plan was applied or approved.
    public func lastGoodInScope() throws -> Int? {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT in_scope FROM snapshot WHERE good = 1 ORDER BY at DESC LIMIT 1") }
    }

    // MARK: - Rolling deactivation window

    public func recordDeactivation(userId: String, approved: Bool, at: Date) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO deactivation (at, user_id, approved) VALUES (?, ?, ?)",
                           arguments: [at.timeIntervalSince1970, userId, approved])
        }
    }

    /// Deactivations applied since `since`, not counting those released by an approval.
    public func deactivations(since: Date) throws -> Int {
        try db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deactivation WHERE at >= ? AND approved = 0",
                             arguments: [since.timeIntervalSince1970]) ?? 0
        }
    }
}
