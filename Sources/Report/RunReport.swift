import Foundation
import Reconcile

/// The report of one run, schema version 1 (docs/report.schema.json; the fields in docs/reconciling.md). Written for
/// every run, dry or real, as JSON for machines and Markdown / HTML for people.
public struct RunReport: Codable, Sendable, Equatable {
    public struct Snapshot: Codable, Sendable, Equatable {
        public var complete: Bool
        public var entries: Int
        public var people: Int
        /// People matched by at least one role mapping (the shrink gate's figure).
        public var inScope: Int
        public var pages: Int
        /// The ldapsearch equivalents of the searches made (password as `-y FILE`).
        public var searches: [String]
        public var server: String?
        public var error: String?

        enum CodingKeys: String, CodingKey { case complete, entries, people, inScope = "in_scope", pages, searches, server, error }
        public init(complete: Bool, entries: Int, people: Int, inScope: Int, pages: Int, searches: [String],
                    server: String? = nil, error: String? = nil) {
            self.complete = complete; self.entries = entries; self.people = people; self.inScope = inScope
            self.pages = pages; self.searches = searches; self.server = server; self.error = error
        }
    }

    public struct Item: Codable, Sendable, Equatable {
        public var kind: String
        public var email: String?
        public var anchor: String?
        public var dn: String?
        public var mixerUserId: String?
        public var from: AccountState
        public var to: AccountState
        public var reason: [String]
        public var status: ItemStatus
        public var statusReason: String?
        public var urgency: String
        public var writes: Int
        /// For an offboarding: whether the person can still sign in ("banned until …", "still possible (…)");
        /// null for other changes (docs/revocation.md).
        public var signIn: String?

        enum CodingKeys: String, CodingKey {
            case kind, email, anchor, dn, mixerUserId = "mixer_user_id", from, to, reason, status
            case statusReason = "status_reason", urgency, writes, signIn = "sign_in"
        }

        enum ExtraKeys: String, CodingKey { case reasons }

        /// Every field is written, `null` when unknown (an invite's `mixer_user_id`): a report is a contract, and
        /// a script should never have to tell an absent key from an empty one. `reasons` repeats `reason`.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(email, forKey: .email)
            try c.encode(anchor, forKey: .anchor)
            try c.encode(dn, forKey: .dn)
            try c.encode(mixerUserId, forKey: .mixerUserId)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(reason, forKey: .reason)
            try c.encode(status, forKey: .status)
            try c.encode(statusReason, forKey: .statusReason)
            try c.encode(urgency, forKey: .urgency)
            try c.encode(writes, forKey: .writes)
            try c.encode(signIn, forKey: .signIn)
            var extra = encoder.container(keyedBy: ExtraKeys.self)
            try extra.encode(reason, forKey: .reasons)
        }

        public init(_ c: Change, status: ItemStatus = .planned, statusReason: String? = nil, signIn: String? = nil) {
            kind = c.kind.rawValue; email = c.email; anchor = c.anchor; dn = c.dn; mixerUserId = c.mixerUserId
            from = c.from; to = c.to; reason = c.reasons; self.status = status; self.statusReason = statusReason
            urgency = "\(c.urgency)"; writes = c.writes; self.signIn = signIn
        }
    }

    public struct Conflict: Codable, Sendable, Equatable {
        public var kind: String
        public var email: String
        /// Directory anchors (duplicate_email), or the anchors and account involved.
        public var entries: [String]
        public var reason: String
    }

    public struct Manual: Codable, Sendable, Equatable {
        public var kind: String
        public var email: String?
        public var newEmail: String?
        public var reason: String
        enum CodingKeys: String, CodingKey { case kind, email, newEmail = "new_email", reason }

        /// `email` is always written (null when the action has none); `new_email` only for an email change.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(email, forKey: .email)
            try c.encodeIfPresent(newEmail, forKey: .newEmail)
            try c.encode(reason, forKey: .reason)
        }
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var kind: String
        public var detail: String
    }

    public struct Queue: Codable, Sendable, Equatable {
        /// Writes the plan needs (decision 12).
        public var writes: Int
        public var writeLimit: Int?
        public var writesLeft: Int?
        public var resetsAt: String?
        /// How long the queue takes under the budget at `write_limit` per hour, from now.
        public var etaSeconds: Int?
        enum CodingKeys: String, CodingKey {
            case writes, writeLimit = "write_limit", writesLeft = "writes_left", resetsAt = "resets_at", etaSeconds = "eta_seconds"
        }
        public init(writes: Int, writeLimit: Int? = nil, writesLeft: Int? = nil, resetsAt: String? = nil, etaSeconds: Int? = nil) {
            self.writes = writes; self.writeLimit = writeLimit; self.writesLeft = writesLeft; self.resetsAt = resetsAt
            self.etaSeconds = etaSeconds
        }
    }

    public var schemaVersion = 1
    public var runId: String
    public var mode: RunMode
    public var outcome: RunOutcome
    public var planHash: String?
    public var startedAt: String
    public var finishedAt: String
    public var snapshot: Snapshot
    public var mixerai: [String: Int]
    public var gates: [GateVerdict]
    /// Set when an approval released this held plan.
    public var approvedBy: String?
    /// Offboardings this run did not complete (held, failed, escrow): always shown first.
    public var pendingOffboard: [Item]
    public var changes: [Item]
    public var conflicts: [Conflict]
    public var manualActions: [Manual]
    public var problems: [Problem]
    public var audit: Audit?
    public var counts: [String: Int]
    public var queue: Queue
    public var timings: [String: Int]
    public var errors: [String]
    public var warnings: [String]
    /// The plan file written by this run (dry run) or applied by it.
    public var planFile: String?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", runId = "run_id", mode, outcome, planHash = "plan_hash"
        case startedAt = "started_at", finishedAt = "finished_at", snapshot, mixerai, gates, approvedBy = "approved_by"
        case pendingOffboard = "pending_offboard", changes, conflicts, manualActions = "manual_actions", problems, audit
        case counts, queue, timings, errors, warnings, planFile = "plan_file"
    }

    public init(runId: String, mode: RunMode, outcome: RunOutcome, planHash: String?, startedAt: Date, finishedAt: Date,
                snapshot: Snapshot, mixerai: [String: Int] = [:], gates: [GateVerdict] = [], approvedBy: String? = nil,
                changes: [Item] = [], conflicts: [Conflict] = [], manualActions: [Manual] = [], problems: [Problem] = [],
                audit: Audit? = nil, queue: Queue = Queue(writes: 0), timings: [String: Int] = [:], errors: [String] = [],
                warnings: [String] = [], planFile: String? = nil) {
        self.runId = runId; self.mode = mode; self.outcome = outcome; self.planHash = planHash
        self.startedAt = Self.iso(startedAt); self.finishedAt = Self.iso(finishedAt); self.snapshot = snapshot
        self.mixerai = mixerai; self.gates = gates; self.approvedBy = approvedBy; self.changes = changes
        self.pendingOffboard = changes.filter { $0.kind == Change.Kind.deactivate.rawValue && $0.status != .applied }
        self.conflicts = conflicts; self.manualActions = manualActions; self.problems = problems; self.audit = audit
        self.queue = queue; self.timings = timings; self.errors = errors; self.warnings = warnings; self.planFile = planFile
        var counts: [String: Int] = [:]
        for kind in Change.Kind.allCases { counts[kind.rawValue] = 0 }
        for item in changes {
            counts[item.kind, default: 0] += 1
            if item.status != .planned { counts[item.status.rawValue, default: 0] += 1 }
        }
        counts["conflicts"] = conflicts.count
        counts["manual_actions"] = manualActions.count
        self.counts = counts
    }

    /// Every top-level field is written, `null` where a run could not compute it (a failed read has no
    /// `plan_hash` and no `audit`): never absent (docs/report.schema.json).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(runId, forKey: .runId)
        try c.encode(mode, forKey: .mode)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(planHash, forKey: .planHash)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(snapshot, forKey: .snapshot)
        try c.encode(mixerai, forKey: .mixerai)
        try c.encode(gates, forKey: .gates)
        try c.encode(approvedBy, forKey: .approvedBy)
        try c.encode(pendingOffboard, forKey: .pendingOffboard)
        try c.encode(changes, forKey: .changes)
        try c.encode(conflicts, forKey: .conflicts)
        try c.encode(manualActions, forKey: .manualActions)
        try c.encode(problems, forKey: .problems)
        try c.encode(audit, forKey: .audit)
        try c.encode(counts, forKey: .counts)
        try c.encode(queue, forKey: .queue)
        try c.encode(timings, forKey: .timings)
        try c.encode(errors, forKey: .errors)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(planFile, forKey: .planFile)
    }

    public var held: Bool { gates.contains { $0.verdict == .hold } && approvedBy == nil }

    /// How many of the run's changes ended with `status` (`counts` by status).
    public func count(_ status: ItemStatus) -> Int { counts[status.rawValue] ?? 0 }

    /// RFC 3339 in UTC to the second (`2026-11-29T10:15:00Z`), written by hand: ISO8601DateFormatter loads ICU,
    /// which a long-running daemon would otherwise keep mapped for one timestamp per report.
    public static func iso(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    public static func conflicts(_ list: [Matching.Conflict]) -> [Conflict] {
        list.map { c in
            switch c {
            case .duplicateEmail(let email, let anchors):
                return Conflict(kind: "duplicate_email", email: email, entries: anchors,
                                reason: "\(anchors.count) directory entries share this email: none is matched, invited or changed")
            case .emailOwnedByOtherLink(let anchor, let email, let id, let linked):
                return Conflict(kind: "email_owned_by_other_link", email: email, entries: [anchor, linked, id],
                                reason: "entry \(anchor) has the email of MixerAI account \(id), which is linked to \(linked)")
            case .duplicateAccounts(let email, let ids):
                return Conflict(kind: "duplicate_accounts", email: email, entries: ids,
                                reason: "\(ids.count) MixerAI accounts share this email: none is matched by email")
            }
        }
    }

    public static func manual(_ list: [ManualAction]) -> [Manual] {
        list.map { Manual(kind: $0.kind.rawValue, email: $0.email, newEmail: $0.newEmail, reason: $0.reason) }
    }

    public static func problems(_ list: [SnapshotProblem]) -> [Problem] {
        list.map { p in
            switch p {
            case .duplicateEmail(let email, let dns): return Problem(kind: p.kind, detail: "\(email): \(dns.joined(separator: "; "))")
            case .missingEmail(let dn): return Problem(kind: p.kind, detail: dn)
            case .invalidText(let dn, let attribute): return Problem(kind: p.kind, detail: "\(dn): \(attribute)")
            case .missingRoleGroup(let dn): return Problem(kind: p.kind, detail: dn)
            }
        }
    }
}
