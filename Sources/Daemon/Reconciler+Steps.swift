import Foundation
import MixerAI
import Reconcile
import Report
import State

/// The steps of a run (docs/reconciling.md, "One pipeline"). Each either returns what the next step needs or
/// throws `RunStop` with what the report must say.
extension Reconciler {
    /// The state directory's lock (unless the daemon holds it) and the state database.
    func open(_ ctx: inout RunContext) throws -> OpenState {
        var lock: StateLock?
        if !lockHeldByCaller {
            do {
                lock = try StateLock(directory: config.state.directory)
            } catch let held as StateError where ctx.mode == .dryRun {
                // A dry run may run beside a daemon that holds the lock: it then leaves unfinished intents to it.
                ctx.besideDaemon = true
                ctx.warnings.append("\(held): a dry run only; unfinished intents are left to it")
            } catch {
                throw RunStop(error: "\(error)")
            }
        }
        do {
            return OpenState(store: try openState(config), lock: lock)
        } catch {
            throw RunStop(error: "\(error)")
        }
    }

    /// 1–2. Both sides at once (each on its own thread: libldap's worker, libcurl's queue), so a run costs the
    /// slower of the two reads, not their sum. MixerAI is only read: no write budget spent. The directory decides
    /// first: a failed read is an error; a partial one holds the plan (decision 10).
    func readBoth(_ ctx: inout RunContext) async throws -> Sides {
        let start = clock()
        let clock = self.clock
        async let directoryRead = Self.timed(start, clock) { try await readDirectory() }
        async let mixerRead = Self.timed(start, clock) { try await readMixerAI() }
        let (directory, directoryMs) = await directoryRead
        let (mixer, mixerMs) = await mixerRead
        ctx.timings["directory_ms"] = directoryMs
        ctx.timings["mixerai_ms"] = mixerMs
        let snapshot = try directorySnapshot(directory, &ctx)
        log("directory: \(snapshot.proof.entries) entries, \(snapshot.people.count) people, \(snapshot.proof.pages) pages")
        switch mixer {
        case .success(let read):
            log("mixerai: \(read.accounts.count) users, \(read.brands.count) brands")
            return Sides(snapshot: snapshot, admin: read.admin, accounts: read.accounts, brands: read.brands)
        case .failure(let error):
            throw RunStop(error: "MixerAI: \(error)", snapshot: Self.summary(snapshot, inScope: 0))
        }
    }

    /// The snapshot of a directory read, or the stop that a failed (error) or partial (held) read makes.
    func directorySnapshot(_ read: Result<DirectorySnapshot, any Error>, _ ctx: inout RunContext) throws -> DirectorySnapshot {
        switch read {
        case .success(let snapshot): return snapshot
        case .failure(let failure as SnapshotFailure):
            let summary = RunReport.Snapshot(complete: false, entries: failure.entriesRead, people: 0, inScope: 0,
                                             pages: failure.pagesRead, searches: failure.searches.map(\.ldapsearch),
                                             error: failure.message)
            if failure.stage == .failed {
                throw RunStop(error: "directory read failed: \(failure.message)", snapshot: summary)
            }
            let verdicts = Gates.evaluate(GateInput(incompleteRead: failure.message, inScopePeople: failure.entriesRead),
                                          policy: config.policy)
            throw RunStop(held: "incomplete directory read: \(failure.message)", snapshot: summary, gates: verdicts)
        case .failure(let error):
            throw RunStop(error: "directory read failed: \(error)")
        }
    }

    static func timed<T: Sendable>(_ start: Date, _ clock: @Sendable () -> Date,
                                   _ body: () async throws -> T) async -> (Result<T, any Error>, Int) {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        return (result, Int(clock().timeIntervalSince(start) * 1000))
    }

    func readDirectory() async throws -> DirectorySnapshot {
        try await source.read(roleGroups: config.roles.map(\.group), now: clock())
    }

    /// The admin, every account (mapped page by page: the wire records are not kept), and the brands.
    func readMixerAI() async throws -> (admin: any MixerAIAdmin, accounts: [Account], brands: [MixerBrand]) {
        let admin = try connect(config)
        let me = try await admin.me()
        let log = self.log
        let accounts = try await admin.accounts { page, users in
            if page % 50 == 0 { log("mixerai: \(page) pages, \(users) users so far") }
        }
        // A list that lacks the service account itself is not the whole list (a permission or paging fault):
        // planning from it would invite people who have accounts, so the run stops here.
        guard accounts.contains(where: { $0.id == me.id }) else {
            throw RunError("MixerAI's user list (\(accounts.count) users) does not contain the service account "
                           + "\(me.email): an incomplete list, nothing planned")
        }
        let brands = try await admin.listBrands()
        return (admin, accounts, brands)
    }

    /// 3. Unfinished intents of an earlier run are settled from this read before anything new (crash safety).
    func recover(_ sides: Sides, state: OpenState, _ ctx: inout RunContext) async throws {
        guard !ctx.besideDaemon && recoverUnfinished else { return }
        let now = clock()
        do {
            var notes = try await recoverBans(state.store, now: now)
            notes += try await state.store.perform { store in
                let unfinished = try store.unfinishedIntents().filter { !SignInBan.isBanStep($0) }
                return unfinished.isEmpty ? [] : try Recovery.resolve(unfinished, accounts: sides.accounts, store: store, now: now)
            }
            ctx.warnings += notes
            for note in notes { log(note) }
        } catch {
            throw RunStop(error: "state: \(error)", snapshot: Self.summary(sides.snapshot, inScope: 0))
        }
    }

    /// 4. The plan, and the gates' verdicts on the whole of it.
    func plan(_ sides: Sides, store: StateStore, _ ctx: inout RunContext) async throws -> PlannedRun {
        let planStart = clock()
        let now = clock()
        let input: PlanInput
        do {
            input = try await planInput(snapshot: sides.snapshot, accounts: sides.accounts, brandNamesById: sides.brandNamesById,
                                        store: store, now: now, readOnly: ctx.mode == .dryRun)
        } catch {
            throw RunStop(error: "state: \(error)", snapshot: Self.summary(sides.snapshot, inScope: 0))
        }
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        if keepUntilExit { ExitReclaim.keep(input, sides.snapshot) }
        var planned = try await judge(plan.queue, of: plan, sides: sides, input: input, store: store, ctx: ctx, now: now)
        planned.budget = await sides.admin?.budget
        ctx.timings["plan_ms"] = ms(since: planStart)
        return planned
    }

    /// The gates on `changes` (all of `plan`, or the fast path's part of it), counted the same way for every run;
    /// `alsoQueued` deactivations wait unsent in the queue and count in the rolling window. Records the verdicts.
    func judge(_ changes: [Change], of plan: Plan, sides: Sides, input: PlanInput, store: StateStore, ctx: RunContext,
               now: Date, alsoQueued: Int = 0) async throws -> PlannedRun {
        let hash = PlanHash.of(changes)
        let inScope = Planner.inScope(input, normalize: Self.normalizeDN)
        let missingGroups = sides.snapshot.problems.compactMap { p -> String? in
            if case .missingRoleGroup(let dn) = p { return dn } else { return nil }
        }
        let policy = config.policy
        let runId = ctx.runId
        do {
            let (verdicts, approved) = try await store.perform { store in
                let verdicts = Gates.evaluate(GateInput(
                    changes: changes, inScopePeople: inScope, lastGoodInScopePeople: try store.lastGoodInScope(),
                    recentDeactivations: try store.deactivations(since: now.addingTimeInterval(-86400)), alsoQueued: alsoQueued,
                    managedActiveAccounts: plan.managedActiveAccounts, missingRoleGroups: missingGroups), policy: policy)
                let approved = try Gates.holds(verdicts) && store.isApproved(planHash: hash)
                try store.recordGates(runId: runId, planHash: hash, held: Gates.holds(verdicts) && !approved,
                                      verdicts: verdicts, changes: changes.count, at: now)
                return (verdicts, approved)
            }
            return PlannedRun(sides: sides, input: input, plan: plan, changes: changes, hash: hash, inScope: inScope,
                              verdicts: verdicts, approved: approved, now: now)
        } catch {
            throw RunStop(error: "state: \(error)", snapshot: Self.summary(sides.snapshot, inScope: inScope))
        }
    }

    /// `readOnly` (dry runs, explain, the fast path): nothing in the state database changes.
    func planInput(snapshot: DirectorySnapshot, accounts: [Account], brandNamesById: [String: String], store: StateStore,
                   now: Date, readOnly: Bool) async throws -> PlanInput {
        let accepted = Set(accounts.filter { !$0.pending }.map(\.id))
        let (ledger, grants, links) = try await store.perform { store in
            (try store.ledger(), try store.pendingGrants(droppingAccepted: accepted, write: !readOnly), try store.links())
        }
        return PlanInput(people: snapshot.people, accounts: accounts, links: links,
                         brandNamesById: brandNamesById, mappings: config.roles, policy: config.policy,
                         serviceAccountEmail: config.mixerai?.serviceEmail, pendingGrants: grants, ledger: ledger.states,
                         offboardedAt: ledger.offboardedAt, now: now)
    }

    static func summary(_ s: DirectorySnapshot, inScope: Int) -> RunReport.Snapshot {
        RunReport.Snapshot(complete: true, entries: s.proof.entries, people: s.people.count, inScope: inScope,
                           pages: s.proof.pages, searches: s.proof.searches.map(\.ldapsearch), server: s.proof.server)
    }

    func ms(since start: Date) -> Int { Int(clock().timeIntervalSince(start) * 1000) }
}
