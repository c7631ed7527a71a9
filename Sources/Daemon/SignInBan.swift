import Foundation
import Logging
import Metrics
import Reconcile
import State

/// The ban step of an offboarding and the lift of a reactivation (docs/revocation.md), journaled like every write
/// (intent → sent → confirmed), read back through GoTrue after an answer that did not arrive, recorded in the
/// state's `ban` table once confirmed. Only an offboarding change is ever banned, and never a protected,
/// break-glass or service account (the planner never offboards them; this checks again).
struct SignInBan: Sendable {
    enum Outcome: Sendable, Equatable {
        case banned(until: Date)
        case refused(String)
        case failed(String)
    }

    let revoker: any SignInRevoker
    let store: StateStore
    let clock: @Sendable () -> Date
    /// Normalised emails never banned: `[policy] protected` and the service account.
    let neverBan: Set<String>

    init(revoker: any SignInRevoker, store: StateStore, neverBan: Set<String>, clock: @escaping @Sendable () -> Date) {
        self.revoker = revoker
        self.store = store
        self.neverBan = neverBan
        self.clock = clock
    }

    /// The ban of an offboarding, unless the state already holds one in force.
    func ensure(_ change: Change, runId: String, planHash: String) async -> Outcome {
        guard change.kind == .deactivate, let id = change.mixerUserId else { return .refused("not an offboarding") }
        if let email = change.email.flatMap(EmailAddress.normalize), neverBan.contains(email) {
            return .refused("a protected account is never banned")
        }
        let start = clock()
        do {
            if let ban = try await store.perform({ try $0.ban(userId: id, now: start) }) { return .banned(until: ban.bannedUntil) }
            let intent = try await store.perform {
                let intent = try $0.journalBegin(runId: runId, planHash: planHash, change: change, step: "ban", at: start)
                try $0.journalMark(intent, status: .sent, at: start)
                return intent
            }
            let until: Date
            do {
                until = try await revoker.ban(userId: id)
            } catch {
                // The answer may be lost after GoTrue applied it: GoTrue's user read settles it.
                guard let shown = try? await revoker.bannedUntil(userId: id), shown > clock() else {
                    _ = try? await store.perform { try $0.journalMark(intent, status: .failed, error: "\(error)", at: clock()) }
                    Counter(label: "mixer_sync_bans_total", dimensions: [("result", "failed")]).increment()
                    return .failed("\(error)")
                }
                until = shown
            }
            CrashPoint.reached("after-ban-before-commit", kind: change.kind.rawValue)
            let now = clock()
            try await store.perform {
                try $0.recordBan(BanRecord(userId: id, email: change.email, bannedUntil: until, runId: runId, confirmedAt: now))
                try $0.journalMark(intent, status: .confirmed, at: now)
            }
            Counter(label: "mixer_sync_bans_total", dimensions: [("result", "banned")]).increment()
            CrashPoint.reached("after-ban", kind: change.kind.rawValue)
            return .banned(until: until)
        } catch {
            return .failed("state: \(error)")
        }
    }

    /// A reactivation lifts the ban mixer-sync made, first; throws when it cannot (the reactivation waits).
    func lift(_ change: Change, runId: String, planHash: String) async throws {
        guard let id = change.mixerUserId else { return }
        let now = clock()
        guard try await store.perform({ try $0.ban(userId: id, now: now) }) != nil else { return }
        let intent = try await store.perform {
            let intent = try $0.journalBegin(runId: runId, planHash: planHash, change: change, step: "lift-ban", at: now)
            try $0.journalMark(intent, status: .sent, at: now)
            return intent
        }
        do {
            try await revoker.lift(userId: id)
        } catch {
            guard let shown = try? await revoker.bannedUntil(userId: id), shown <= clock() else {
                _ = try? await store.perform { try $0.journalMark(intent, status: .failed, error: "\(error)", at: clock()) }
                throw RunError("the ban could not be lifted: \(error)")
            }
        }
        try await store.perform {
            try $0.clearBan(userId: id)
            try $0.journalMark(intent, status: .confirmed, at: clock())
        }
        Counter(label: "mixer_sync_bans_total", dimensions: [("result", "lifted")]).increment()
    }

    /// Recovery: ban and lift intents a crash left unfinished, settled from GoTrue's user read. Without a revoker
    /// (the section was removed) they are marked failed: the next offboarding bans again if configured.
    static func settle(_ intents: [Intent], revoker: (any SignInRevoker)?, store: StateStore, now: Date) async throws -> [String] {
        var notes: [String] = []
        for intent in intents {
            let who = intent.change.email ?? intent.change.mixerUserId ?? "?"
            guard let revoker, let id = intent.change.mixerUserId else {
                try await store.perform { try $0.journalMark(intent.id, status: .failed, error: "recovered: no [supabase] to read it back", at: now) }
                continue
            }
            let landed: Bool
            var until: Date?
            if intent.step == "app-metadata" {
                landed = try await revoker.globalRole(userId: id) == intent.change.to.role?.rawValue
            } else {
                until = try await revoker.bannedUntil(userId: id)
                let banned = until.map { $0 > now } ?? false
                landed = intent.step == "ban" ? banned : !banned
            }
            let bannedUntil = until
            try await store.perform { s in
                if landed, intent.step == "ban", let until = bannedUntil {
                    try s.recordBan(BanRecord(userId: id, email: intent.change.email, bannedUntil: until, runId: intent.runId,
                                              confirmedAt: now))
                } else if landed, intent.step == "lift-ban" {
                    try s.clearBan(userId: id)
                }
                try s.journalMark(intent.id, status: landed ? .confirmed : .failed,
                                  error: landed ? "recovered: GoTrue shows it (read back)" : "recovered: not in GoTrue (read back)", at: now)
            }
            notes.append("recovered: \(intent.step) of \(who) from run \(intent.runId) had \(landed ? "landed" : "not landed")")
        }
        return notes
    }

    /// The journal steps made through GoTrue, not MixerAI: recovery reads them back from GoTrue.
    static func isBanStep(_ intent: Intent) -> Bool { ["ban", "lift-ban", "app-metadata"].contains(intent.step) }
}
