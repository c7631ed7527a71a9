import Foundation
import Reconcile
import Report
import State

/// The one place that words what is still to be done and what runs did (docs/daemon.md): PENDING OFFBOARD, the
/// queue's items and the run lines, for reports, `status`, `plan`/`apply`'s summary and systemd's STATUS.
public enum PendingWork {
    /// A change waiting in the durable queue, as reports and `status` show it.
    static func item(_ q: QueueItem) -> RunReport.Item {
        let first = q.change.urgency == .offboarding ? "queued, offboarding first" : "queued"
        return RunReport.Item(q.change, status: q.attempts > 0 ? .escrow : .planned,
                              statusReason: q.lastError.map { "\(first); \(q.attempts) attempt(s), last: \($0)" } ?? first)
    }

    /// The offboardings still to be done: `shown` (a report's own) and every one in the queue not among them.
    static func offboardings(_ shown: [RunReport.Item], queued: [QueueItem]) -> [RunReport.Item] {
        var out = shown
        let seen = Set(shown.map(who))
        for q in queued where q.change.urgency == .offboarding {
            let item = item(q)
            if !seen.contains(who(item)) { out.append(item) }
        }
        return out
    }

    static func who(_ item: RunReport.Item) -> String { item.mixerUserId ?? item.anchor ?? item.email ?? "" }

    /// `PENDING OFFBOARD: ada@example.com (escrow: queued, offboarding first; 2 attempt(s), last: …)`.
    public static func line(_ item: RunReport.Item) -> String {
        "PENDING OFFBOARD: \(item.email ?? item.mixerUserId ?? "?") (\(item.status)\(item.statusReason.map { ": \($0)" } ?? ""))"
    }

    /// One change: `deactivate ada@example.com — escrow: queued; 2 attempt(s), last: …`.
    static func change(_ item: RunReport.Item) -> String {
        "\(item.kind) \(item.email ?? item.mixerUserId ?? "?") — \(item.status)\(item.statusReason.map { ": \($0)" } ?? "")"
    }

    /// One run: `2026-12-04T10:15:00Z-3f2a · change-feed · changes · 1 change: applied 1`. `applied` counts what
    /// the drainer confirmed of what the run queued, after the run's own report was written.
    static func run(_ r: RunRecord, applied: Int) -> String {
        var parts = ["\(r.changes) change\(r.changes == 1 ? "" : "s")"]
        var done: [String] = []
        if applied > 0 { done.append("applied \(applied)") }
        let queued = r.changes - applied - r.escrow
        if queued > 0 && (r.outcome == RunOutcome.changes.rawValue && r.mode == RunMode.changeFeed.rawValue) {
            done.append("queued \(queued)")
        }
        if r.escrow > 0 { done.append("escrow \(r.escrow)") }
        if !done.isEmpty { parts[0] += ": " + done.joined(separator: ", ") }
        return ([r.runId, r.mode, r.outcome] + parts).joined(separator: " · ") + (r.error.map { " — \($0)" } ?? "")
    }

    /// The daemon's STATUS= line after a full run.
    static func daemonStatus(_ r: RunReport, queueDepth: Int, failures: Int, quarantine: Bool) -> String {
        "last run \(r.runId): \(r.outcome), \(r.changes.count) changes, \(r.count(.applied)) applied, "
            + "\(r.count(.escrow)) in escrow, \(r.pendingOffboard.count) pending offboard; "
            + "queue \(queueDepth) change(s); budget "
            + (r.queue.writesLeft.map { "\($0)/\(r.queue.writeLimit.map(String.init) ?? "?") writes left" } ?? "not seen yet")
            + (quarantine ? " — QUARANTINE after \(failures) failed runs" : "")
            + (r.outcome == .error ? " — " + String((r.errors.first ?? "failed").prefix(160)) : "")
    }
}
