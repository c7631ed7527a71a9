import Config
import Foundation
import Reconcile
import Report
import State

/// What `status` shows: the last runs, the items left in escrow by the last apply, held plans awaiting approval,
/// and the write queue and budget as the last report saw them.
public struct StatusReport: Codable, Sendable {
    public struct Held: Codable, Sendable { public var planHash: String; public var at: String; public var changes: Int
        enum CodingKeys: String, CodingKey { case planHash = "plan_hash", at, changes } }

    public var runs: [RunRecord]
    public var escrow: [RunReport.Item]
    public var pendingOffboard: [RunReport.Item]
    public var held: [Held]
    public var queue: RunReport.Queue?
    /// The durable write queue now: how many changes wait, and the first of them in the order they go.
    public var queued: Int
    public var queueHead: [RunReport.Item]

    enum CodingKeys: String, CodingKey {
        case runs, escrow, pendingOffboard = "pending_offboard", held, queue, queued, queueHead = "queue_head"
    }

    public static func read(config: MixerSyncConfig) throws -> StatusReport {
        let store = try StateStore(directory: config.state.directory)
        var latest: RunReport?
        if let data = FileManager.default.contents(atPath: config.report.directory + "/latest.json") {
            latest = try? JSONDecoder().decode(RunReport.self, from: data)
        }
        let queued = try store.queued()
        func item(_ q: QueueItem) -> RunReport.Item {
            RunReport.Item(q.change, status: q.attempts > 0 ? "escrow" : "planned",
                           statusReason: q.lastError.map { "\(q.attempts) attempt(s), last: \($0)" } ?? "queued")
        }
        // Offboardings in the durable queue are pending whatever the last report said (a restart, the feed).
        // A change-feed report lists what it queued: the queue itself says what is still pending.
        var pending = latest?.mode == "change-feed" ? [] : latest?.pendingOffboard ?? []
        let shown = Set(pending.map { $0.mixerUserId ?? $0.anchor ?? "" })
        for q in queued where q.change.urgency == .offboarding && !shown.contains(q.change.mixerUserId ?? q.change.anchor ?? "") {
            pending.append(item(q))
        }
        return StatusReport(runs: try store.recentRuns(limit: 10),
                            escrow: latest?.changes.filter { $0.status == "escrow" || $0.status == "failed" } ?? [],
                            pendingOffboard: pending,
                            held: try store.heldPlans().map { Held(planHash: $0.hash, at: RunReport.iso($0.at), changes: $0.changes) },
                            queue: latest?.queue, queued: queued.count, queueHead: queued.prefix(20).map(item))
    }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return try e.encode(self)
    }

    public func text() -> String {
        var lines: [String] = []
        for item in pendingOffboard { lines.append("PENDING OFFBOARD: \(item.email ?? item.mixerUserId ?? "?") (\(item.status))") }
        lines.append("last runs:")
        if runs.isEmpty { lines.append("  none yet") }
        for r in runs {
            lines.append("  \(r.runId) \(r.mode) \(r.outcome) changes \(r.changes) applied \(r.applied) escrow \(r.escrow)"
                         + (r.error.map { " — \($0)" } ?? ""))
        }
        lines.append("escrow (\(escrow.count)):")
        for item in escrow { lines.append("  \(item.kind) \(item.email ?? item.mixerUserId ?? "?"): \(item.statusReason ?? item.status)") }
        lines.append("held plans awaiting approval (\(held.count)):")
        for h in held { lines.append("  \(h.planHash) at \(h.at), \(h.changes) changes") }
        lines.append("durable write queue: \(queued) change(s)")
        for item in queueHead { lines.append("  \(item.kind) \(item.email ?? item.mixerUserId ?? "?"): \(item.statusReason ?? item.status)") }
        if let q = queue {
            let budget = q.writesLeft.map { left in "\(left) of \(q.writeLimit.map(String.init) ?? "?") writes left in this window" }
                ?? "MixerAI's write budget not seen yet (it shows in the answers to writes)"
            lines.append("write queue: \(q.writes) writes, \(budget)" + (q.etaSeconds.map { $0 > 0 ? ", ETA \($0) s" : "" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
