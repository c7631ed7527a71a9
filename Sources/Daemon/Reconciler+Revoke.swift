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
        guard config.supabase?.bans == true, let revoker = try revoke(config) else { return nil }
        if probe {
            do { _ = try await revoker.probe() } catch {
                throw RunError("[supabase]: the service-role key in \(config.supabase?.serviceRoleKeyFile ?? "the key file") "
                               + "does not work: \(error)")
            }
        }
        return SignInBan(revoker: revoker, store: store, neverBan: neverTouched, clock: clock)
    }

    /// Accounts no GoTrue call ever touches: `[policy] protected` and the service account.
    var neverTouched: Set<String> {
        var never = Set(config.policy.protected)
        if let email = config.mixerai.flatMap({ EmailAddress.normalize($0.serviceEmail) }) { never.insert(email) }
        return never
    }

    /// `fix_app_metadata = true`: each `app_metadata_admin` manual action of this plan is corrected through GoTrue —
    /// `app_metadata.global_role` set to the role the directory grants (viewer for a leaver) — journaled like every
    /// write. Returns the accounts corrected (id → role) and notes for the report.
    func fixAppAdmins(_ p: PlannedRun, runId: String, store: StateStore) async -> (fixed: [String: Role], notes: [String]) {
        guard config.supabase?.fixAppMetadata == true,
              let revoker = try? revoke(config) else { return ([:], []) }
        var fixed: [String: Role] = [:]
        var notes: [String] = []
        for m in p.plan.manualActions where m.kind == .appMetadataAdmin {
            guard let id = m.mixerUserId, let role = m.grants, role != .admin,
                  !(m.email.flatMap(EmailAddress.normalize).map(neverTouched.contains) ?? false) else { continue }
            let change = Change(kind: .setRole, anchor: nil, email: m.email, dn: nil, mixerUserId: id,
                                from: AccountState(role: .admin), to: AccountState(role: role), reasons: [m.reason])
            let now = clock()
            do {
                let intent = try await store.perform {
                    let intent = try $0.journalBegin(runId: runId, planHash: p.hash, change: change, step: "app-metadata", at: now)
                    try $0.journalMark(intent, status: .sent, at: now)
                    return intent
                }
                var landed = true
                var failure: String?
                do { try await revoker.setGlobalRole(userId: id, role: role.rawValue) } catch {
                    landed = (try? await revoker.globalRole(userId: id)) == role.rawValue
                    failure = "\(error)"
                }
                let (ok, why) = (landed, failure)
                try await store.perform {
                    try $0.journalMark(intent, status: ok ? .confirmed : .failed, error: ok ? nil : why, at: clock())
                }
                if landed { fixed[id] = role } else { notes.append("app_metadata of \(m.email ?? id) not corrected: \(failure ?? "?")") }
            } catch {
                notes.append("app_metadata of \(m.email ?? id) not corrected: state: \(error)")
            }
        }
        return (fixed, notes)
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
