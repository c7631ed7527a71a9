import Foundation
import Reconcile
import Report
import State

/// Bans (docs/revocation.md): the run's ban step, proved before any write; the recovery of ban intents; and the
/// catch-up that bans accounts mixer-sync offboarded without a ban (a ban that failed, or `[supabase]` added later).
extension Reconciler {
    /// The run's ban step, or nil when bans are off. With `probe` (the run will write offboardings or reactivations)
    /// the key is proved first with a read that changes nothing, so a wrong key stops the run before anything is
    /// half-done.
    func prepareBan(store: StateStore, probe: Bool) async throws -> SignInBan? {
        guard let revoker = try revoke(config) else { return nil }
        if probe {
            do { _ = try await revoker.probe() } catch {
                throw RunError("[supabase]: the service-role key in \(config.supabase?.serviceRoleKeyFile ?? "the key file") "
                               + "does not work: \(error)")
            }
        }
        var never = Set(config.policy.protected)
        if let email = config.mixerai.flatMap({ EmailAddress.normalize($0.serviceEmail) }) { never.insert(email) }
        return SignInBan(revoker: revoker, store: store, neverBan: never, clock: clock)
    }

    /// Ban and lift intents a crash left unfinished, settled from GoTrue before anything new.
    func recoverBans(_ store: StateStore, now: Date) async throws -> [String] {
        let intents = try await store.perform { try $0.unfinishedIntents().filter(SignInBan.isBanStep) }
        guard !intents.isEmpty else { return [] }
        return try await SignInBan.settle(intents, revoker: try? revoke(config), store: store, now: now)
    }

    /// After a full run that was not held: accounts mixer-sync offboarded (their roles are in the ledger) that are
    /// inactive in MixerAI and have no ban in force are banned now. Returns notes for the report.
    func catchUpBans(_ p: PlannedRun, ban: SignInBan, runId: String) async -> [String] {
        let banned = (try? await ban.store.perform { [clock] in try $0.bans(now: clock()) }) ?? [:]
        let planned = Set(p.changes.compactMap(\.mixerUserId))
        var done = 0
        var failed: [String] = []
        for account in p.input.accounts where !account.active && p.input.ledger[account.id] != nil
            && banned[account.id] == nil && !planned.contains(account.id) {
            let change = Change(kind: .deactivate, anchor: nil, email: account.email, dn: nil, mixerUserId: account.id,
                                from: AccountState(active: false), to: .offboarded,
                                reasons: ["offboarded by mixer-sync earlier without a ban in force"])
            switch await ban.ensure(change, runId: runId, planHash: p.hash) {
            case .banned: done += 1
            case .refused: break
            case .failed(let why): failed.append("\(account.email ?? account.id): \(why)")
            }
        }
        var notes: [String] = []
        if done > 0 { notes.append("sign-in banned for \(done) account(s) offboarded earlier without a ban") }
        if !failed.isEmpty { notes.append("sign-in ban failed for \(failed.count) offboarded account(s): \(failed.prefix(5).joined(separator: "; "))") }
        return notes
    }
}
