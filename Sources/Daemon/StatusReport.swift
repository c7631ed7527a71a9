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
    /// Changes confirmed per run (by run id), the drainer's later writes included.
    public var applied: [String: Int]
    public var escrow: [RunReport.Item]
    public var pendingOffboard: [RunReport.Item]
    public var held: [Held]
    public var queue: RunReport.Queue?
    /// The durable write queue now: how many changes wait, and the first of them in the order they go.
    public var queued: Int
    public var queueHead: [RunReport.Item]
    /// Whether offboardings ban sign-in (`[supabase]`), and the queued offboardings whose ban is not confirmed yet.
    public var bansOn: Bool
    public var pendingBans: [RunReport.Item]
    /// Bans mixer-sync confirmed that are still in force.
    public var bansInForce: Int
    /// On a PostgreSQL state: the leader's lease as PostgreSQL has it now (docs/high-availability.md).
    public var lease: LeaseStatus?

    public struct LeaseStatus: Codable, Sendable {
        public var holder: String
        public var host: String
        public var epoch: Int64
        /// Seconds since the leader last renewed it; a negative `expiresIn` means no one holds it now.
        public var age: Double
        public var expiresIn: Double
        enum CodingKeys: String, CodingKey { case holder, host, epoch, age = "age_seconds", expiresIn = "expires_in_seconds" }
    }

    enum CodingKeys: String, CodingKey {
        case runs, applied, escrow, pendingOffboard = "pending_offboard", held, queue, queued, queueHead = "queue_head"
        case bansOn = "bans_on", pendingBans = "pending_bans", bansInForce = "bans_in_force", lease
    }

    public static func read(config: MixerSyncConfig) throws -> StatusReport {
        let store = try config.openState()
        var latest: RunReport?
        if let data = FileManager.default.contents(atPath: config.report.directory + "/latest.json") {
            latest = try? JSONDecoder().decode(RunReport.self, from: data)
        }
        let queued = try store.queued()
        // Offboardings in the durable queue are pending whatever the last report said (a restart, the feed).
        // A change-feed report lists what it queued: the queue itself says what is still pending.
        let shown = latest?.mode == .changeFeed ? [] : latest?.pendingOffboard ?? []
        let runs = try store.recentRuns(limit: 10)
        let bans = try store.bans(now: Date())
        let bansOn = config.supabase?.bans == true
        let pendingBans = bansOn ? queued.filter { $0.change.kind == .deactivate && bans[$0.change.mixerUserId ?? ""] == nil } : []
        return StatusReport(runs: runs, applied: try store.confirmedChanges(runIds: runs.map(\.runId)),
                            escrow: latest?.changes.filter { $0.status.isLeft } ?? [],
                            pendingOffboard: PendingWork.offboardings(shown, queued: queued),
                            held: try store.heldPlans().map { Held(planHash: $0.hash, at: RunReport.iso($0.at), changes: $0.changes) },
                            queue: latest?.queue, queued: queued.count, queueHead: queued.prefix(20).map(PendingWork.item),
                            bansOn: bansOn, pendingBans: pendingBans.map(PendingWork.item), bansInForce: bans.count,
                            lease: try store.currentLease().map {
                                LeaseStatus(holder: $0.holder, host: $0.host, epoch: $0.epoch, age: $0.age, expiresIn: $0.remaining)
                            })
    }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return try e.encode(self)
    }

    public func text() -> String {
        var lines = pendingOffboard.map(PendingWork.line)
        if let l = lease {
            lines.append(l.expiresIn > 0
                ? String(format: "leader: %@ (epoch %lld, lease renewed %.1f s ago, %.1f s left)", l.host, l.epoch, l.age, l.expiresIn)
                : "leader: none (the lease of \(l.host), epoch \(l.epoch), expired; a standby takes it over)")
        }
        lines.append("last runs:")
        if runs.isEmpty { lines.append("  none yet") }
        for r in runs { lines.append("  " + PendingWork.run(r, applied: max(r.applied, applied[r.runId] ?? 0))) }
        lines.append("escrow (\(escrow.count)):")
        for item in escrow { lines.append("  " + PendingWork.change(item)) }
        lines.append("held plans awaiting approval (\(held.count)):")
        for h in held { lines.append("  \(h.planHash) at \(h.at), \(h.changes) changes") }
        if bansOn {
            lines.append("sign-in bans (Supabase Auth): \(bansInForce) in force, \(pendingBans.count) pending")
            for item in pendingBans { lines.append("  BAN PENDING " + PendingWork.change(item)) }
        } else {
            lines.append("sign-in bans: off (no [supabase] section): offboarded people can still sign in")
        }
        lines.append("durable write queue: \(queued) change(s)")
        for item in queueHead { lines.append("  " + PendingWork.change(item)) }
        if let q = queue {
            let budget = q.writesLeft.map { left in "\(left) of \(q.writeLimit.map(String.init) ?? "?") writes left in this window" }
                ?? "MixerAI's write budget not seen yet (it shows in the answers to writes)"
            lines.append("write queue: \(q.writes) writes, \(budget)" + (q.etaSeconds.map { $0 > 0 ? ", ETA \($0) s" : "" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
