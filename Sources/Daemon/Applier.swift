import Foundation
import MixerAI
import Reconcile
import Report
import State

/// Applies a plan's queue (already ordered by urgency) with a journal entry before every MixerAI call, within the
/// write budget. What does not fit the budget, or fails, is left in escrow: the next run plans it again.
struct Applier: Sendable {
    struct Result: Sendable {
        var change: Change
        /// applied, escrow or failed (the fast path's queued items: planned)
        var status: ItemStatus
        var reason: String?
        /// Nothing after this can succeed now (the session was refused, or MixerAI answered 429).
        var stopsTheRest = false
        /// An offboarding whose ban failed says so here (`sign_in` in the report); nil otherwise.
        var signIn: String?
    }

    let client: any MixerAIAdmin
    let store: StateStore
    let runId: String
    let planHash: String
    /// The plan was released by an approval: its deactivations do not count in the rolling window (decision 9).
    let approved: Bool
    let brandIdByName: [String: String]
    /// The profile and pending flag of the accounts the changes touch (the stripping PUT keeps the profile).
    let profiles: [String: AccountProfile]
    let maxBudgetWait: TimeInterval
    let clock: @Sendable () -> Date
    var log: @Sendable (String) -> Void = { _ in }
    var shouldStop: @Sendable () -> Bool = { false }
    /// `[supabase]`: offboardings ban sign-in first, outside MixerAI's budget; reactivations lift the ban.
    var ban: SignInBan?

    /// The state, off the cooperative pool.
    func state<T: Sendable>(_ body: @escaping @Sendable (StateStore) throws -> T) async throws -> T {
        try await store.perform(body)
    }

    func apply(_ queue: [Change]) async -> [Result] {
        // The bans go first, all of them: they lock leavers out and are not in MixerAI's budget, so an offboarding
        // the budget leaves in escrow is banned all the same.
        var banFailures: [String: String] = [:]
        for change in queue where change.kind == .deactivate {
            if let failure = await banFirst(change) { banFailures[QueueItem.key(change)] = failure }
        }
        var results = await applyWrites(queue)
        for i in results.indices { results[i].signIn = results[i].signIn ?? banFailures[QueueItem.key(results[i].change)] }
        return results
    }

    /// The ban of an offboarding, when bans are on: nil when it holds, else what the report says of sign-in.
    func banFirst(_ change: Change) async -> String? {
        guard let ban, change.kind == .deactivate else { return nil }
        switch await ban.ensure(change, runId: runId, planHash: planHash) {
        case .banned: return nil
        case .refused(let why): return "still possible: \(why)"
        case .failed(let why):
            log("ban of \(change.email ?? change.mixerUserId ?? "") failed: \(why)")
            return "still possible: the ban failed (\(why)); tried again by the next run"
        }
    }

    private func applyWrites(_ queue: [Change]) async -> [Result] {
        var results: [Result] = []
        var stop: String?
        var attempted = 0, failed = 0
        for (done, change) in queue.enumerated() {
            if done > 0, done % 10 == 0 || done == queue.count - 1 {
                let budget = await client.budget
                log("writes: \(done) of \(queue.count) changes done, \(queue.count - done) queued; budget "
                    + (budget.remaining.map { "\($0) of \(budget.limit ?? 50) writes left" } ?? "not seen yet"))
            }
            if stop == nil && shouldStop() { stop = "not attempted: mixer-sync was stopping" }
            if let stop {
                results.append(Result(change: change, status: .escrow, reason: stop))
                continue
            }
            if let wait = await budgetShortfall(change) {
                stop = "write budget: \(wait); queued for the next run"
                results.append(Result(change: change, status: .escrow, reason: stop))
                continue
            }
            let result = await write(change)
            results.append(result)
            if result.stopsTheRest { stop = "not attempted: \(result.reason ?? "")" }
            attempted += 1
            if result.status != .applied { failed += 1 }
            if stop == nil, Self.circuitOpen(attempted: attempted, failed: failed) {
                stop = "not attempted: most calls are failing (\(failed) of \(attempted)); the run stopped here"
                log("circuit breaker: \(stop!)")
            }
        }
        return results
    }

    /// The circuit breaker (docs/testing.md, Reliability): once at least 10 changes were tried, more than half of them
    /// failing means MixerAI is in trouble; the rest is not attempted this run.
    static func circuitOpen(attempted: Int, failed: Int) -> Bool {
        attempted >= 10 && failed * 2 > attempted
    }

    /// One change, its outcome classified: applied; escrow (worth retrying); failed (the session or its rights).
    func attempt(_ change: Change) async -> Result {
        let signIn = await banFirst(change)
        var result = await write(change)
        result.signIn = signIn
        return result
    }

    private func write(_ change: Change) async -> Result {
        do {
            try await execute(change)
            log("applied \(change.kind.rawValue) \(change.email ?? change.mixerUserId ?? "")")
            return Result(change: change, status: .applied, reason: nil)
        } catch let error as MixerAIError {
            log("escrow \(change.kind.rawValue) \(change.email ?? change.mixerUserId ?? ""): \(error)")
            switch error {
            case .authentication, .permission:
                // Nothing else can succeed: stop here, keep the journal, leave the rest for the next run.
                return Result(change: change, status: .failed, reason: "\(error)", stopsTheRest: true)
            case .rateLimited:
                return Result(change: change, status: .escrow, reason: "\(error)", stopsTheRest: true)
            default:
                return Result(change: change, status: .escrow, reason: "\(error)")
            }
        } catch {
            return Result(change: change, status: .escrow, reason: "\(error)")
        }
    }

    /// Why this change cannot start now without waiting longer than `maxBudgetWait`, or nil when it can.
    func budgetShortfall(_ change: Change) async -> String? {
        let budget = await client.budget
        let now = clock()
        if let until = budget.blockedUntil, until.timeIntervalSince(now) > maxBudgetWait {
            return "blocked by MixerAI until \(RunReport.iso(until))"
        }
        if let left = budget.remaining, left < change.writes, let reset = budget.resetAt,
           reset.timeIntervalSince(now) > maxBudgetWait {
            return "\(left) of \(budget.limit ?? 50) writes left until \(RunReport.iso(reset)), this change needs \(change.writes)"
        }
        return nil
    }

    /// One change: journal first, then the calls, then the state that follows from them.
    func execute(_ change: Change) async throws {
        let now = clock()
        let firstStep: String = switch change.kind {
        case .invite: "invite"
        case .deactivate: change.from.active == false ? "put" : "deactivate"
        case .reactivate: "reactivate"
        case .delete: "delete"
        case .update, .setRole, .setBrands: "put"
        }
        if change.kind == .deactivate, let id = change.mixerUserId {
            // The roles are kept before they are stripped (reactivation = restore).
            try await state { try $0.keepInLedger(userId: id, state: change.from, at: now) }
        }
        let (runId, planHash) = (self.runId, self.planHash)
        let intent = try await state {
            try $0.journalBegin(runId: runId, planHash: planHash, change: change, step: firstStep, at: now)
        }
        CrashPoint.reached("after-intent-commit", kind: change.kind.rawValue)
        do {
            try await calls(change, intent: intent)
            CrashPoint.reached("after-response-before-commit", kind: change.kind.rawValue)
            try await state { try $0.journalMark(intent, status: .confirmed, at: clock()) }
            CrashPoint.reached("after-commit", kind: change.kind.rawValue)
        } catch let error as MixerAIError {
            if case .transport(let t) = error, t.outcomeUnknown, change.kind != .invite,
               let id = change.mixerUserId, try await readBack(change, userId: id) {
                try await state {
                    try $0.journalMark(intent, status: .confirmed, error: "ambiguous, proven applied by read-back", at: clock())
                }
                try await after(change, userId: id, at: clock())
                return
            }
            let status: Intent.Status = if case .ambiguous = error { .ambiguous } else { .failed }
            _ = try? await state { try $0.journalMark(intent, status: status, error: "\(error)", at: clock()) }
            throw error
        }
    }

    func calls(_ change: Change, intent: Int64) async throws {
        switch change.kind {
        case .invite:
            guard let email = change.email else { throw RunError("an invite without an email") }
            let firstBrand = (change.to.brands ?? [:]).keys.sorted().first.flatMap { brandIdByName[$0] }
            try await state { try $0.journalMark(intent, status: .sent, at: clock()) }
            let outcome = try await client.invite(InviteRequest(
                email: email, role: (change.to.role ?? .viewer).rawValue, fullName: change.to.fullName,
                jobTitle: change.to.jobTitle, company: change.to.company, brandId: firstBrand))
            let (userId, adopted) = switch outcome {
            case .invited(let id): (id, false)
            case .adopted(let id): (id, true)
            }
            CrashPoint.reached("after-invite-before-link", kind: change.kind.rawValue)
            if let anchor = change.anchor {
                try await state {
                    try $0.link(anchor: anchor, userId: userId, email: email, at: clock(), grant: change.inviteGrant)
                }
            } else {
                try await state { try $0.setPendingGrant(userId: userId, state: change.inviteGrant) }
            }
            try await state { try $0.journalMark(intent, status: .sent, step: "put", userId: userId, at: clock()) }
            if change.inviteNeedsUpdate || adopted {
                try await client.update(userId: userId, to: AccountMapping.update(change.to, brandIdByName: brandIdByName))
                let granted = AccountState(role: change.to.role, brands: change.to.brands ?? [:])
                try await state { try $0.setPendingGrant(userId: userId, state: granted) }
            }
        case .deactivate:
            guard let id = change.mixerUserId else { throw RunError("an offboarding without an account id") }
            if change.from.active != false {
                try await state { try $0.journalMark(intent, status: .sent, step: "deactivate", at: clock()) }
                try await client.deactivate(userId: id)
            }
            try await state { try $0.journalMark(intent, status: .sent, step: "put", at: clock()) }
            let profile = profiles[id]
            var stripped = AccountState.offboarded
            stripped.fullName = profile?.fullName ?? ""
            stripped.jobTitle = profile?.jobTitle ?? ""
            stripped.company = profile?.company ?? ""
            try await client.update(userId: id, to: AccountMapping.update(stripped, brandIdByName: brandIdByName))
            try await after(change, userId: id, at: clock())
        case .reactivate:
            guard let id = change.mixerUserId else { throw RunError("a reactivation without an account id") }
            // Sign-in comes back before the roles do.
            try await ban?.lift(change, runId: runId, planHash: planHash)
            try await state { try $0.journalMark(intent, status: .sent, step: "reactivate", at: clock()) }
            try await client.reactivate(userId: id)
            try await state { try $0.journalMark(intent, status: .sent, step: "put", at: clock()) }
            try await client.update(userId: id, to: AccountMapping.update(change.to, brandIdByName: brandIdByName))
            try await after(change, userId: id, at: clock())
        case .delete:
            guard let id = change.mixerUserId else { throw RunError("a deletion without an account id") }
            try await state { try $0.journalMark(intent, status: .sent, step: "delete", at: clock()) }
            try await client.delete(userId: id)
            try await after(change, userId: id, at: clock())
        case .update, .setRole, .setBrands:
            guard let id = change.mixerUserId else { throw RunError("an update without an account id") }
            try await state { try $0.journalMark(intent, status: .sent, step: "put", at: clock()) }
            try await client.update(userId: id, to: AccountMapping.update(change.to, brandIdByName: brandIdByName))
            if profiles[id]?.pending == true {
                let granted = AccountState(role: change.to.role, brands: change.to.brands ?? [:])
                try await state { try $0.setPendingGrant(userId: id, state: granted) }
            }
        }
    }

    /// The local state that follows a confirmed change.
    func after(_ change: Change, userId: String, at: Date) async throws {
        switch change.kind {
        case .deactivate: try await state { try $0.recordDeactivation(userId: userId, approved: approved, at: at) }
        case .reactivate: try await state { try $0.clearLedger(userId: userId) }
        case .delete:
            try await state { try $0.unlink(userId: userId) }
            try await state { try $0.clearLedger(userId: userId) }
        default: break
        }
    }

    /// Decision 11: an ambiguous write is read back through the list (never `{id}`, which spends budget).
    func readBack(_ change: Change, userId: String) async throws -> Bool {
        let accounts = try await client.accounts(progress: nil)
        guard let account = accounts.first(where: { $0.id == userId }) else { return change.kind == .delete }
        return Recovery.shows(account, change)
    }
}
