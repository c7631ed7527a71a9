import Config
import Directory
import Foundation
import LDAPClient
import MixerAI
import Reconcile
import Report
import Secrets
import State

/// One reconcile run end to end (docs/reconciling.md): read the directory and MixerAI, resolve unfinished intents,
/// plan, judge the gates, then either write the plan (dry run) or apply it within the write budget; a report for
/// every run. The edges act; every decision is the pure core's.
public struct Reconciler: Sendable {
    public enum Mode: String, Sendable { case dryRun = "dry-run", apply, changeFeed = "change-feed" }

    /// What a run produced: its report, where the report went, and the command's exit code (docs/commands.md).
    public struct Outcome: Sendable {
        public var report: RunReport
        public var exitCode: Int32
        public var reportPaths: [String]
    }

    public let config: MixerSyncConfig
    let clock: @Sendable () -> Date
    /// The longest mixer-sync waits for MixerAI's write window to reset inside one run; beyond it the rest of the
    /// queue is left in escrow for the next run (50 writes an hour make waiting an hour pointless for a CLI run).
    public var maxBudgetWait: TimeInterval = 60
    /// Progress lines for people (stderr from the CLI); never secrets.
    public var log: @Sendable (String) -> Void = { _ in }

    /// A command that exits right after the run sets this: the run's large values (the snapshot, every account,
    /// the indexes) are then left for the operating system to reclaim at exit instead of being freed one object at
    /// a time (about a second at 100,000 users). A long-running daemon leaves it off.
    public var keepUntilExit = false
    /// The daemon holds the state directory's lock for its whole life; its runs must not take it again.
    public var lockHeldByCaller = false
    /// Asked before every change of an apply: when it says stop (SIGTERM), the in-flight change finishes and the
    /// rest is left in escrow for the next start.
    public var shouldStop: @Sendable () -> Bool = { false }
    /// The daemon's writer: when set, an apply queues its changes in the durable queue and waits (up to
    /// `maxBudgetWait` of idle budget) for the drainer to send them; the drainer keeps going after the report.
    public var drainer: QueueDrainer?
    /// Settle unfinished intents from this run's read first. The daemon does it at its first run only: later,
    /// an unfinished intent may be the drainer's call in flight.
    public var recoverUnfinished = true

    public init(config: MixerSyncConfig, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.config = config
        self.clock = clock
    }

    // MARK: - Commands

    /// `plan`: a dry run. Exit 0 in sync, 2 changes pending, 3 held, 1 error.
    public func plan(out: String? = nil) async -> Outcome {
        await run(.dryRun, planPath: nil, out: out)
    }

    /// `apply [PLAN]`. Exit 0 applied or nothing to do, 3 held, 4 applied with items left in escrow, 1 error.
    public func apply(planPath: String? = nil) async -> Outcome {
        await run(.apply, planPath: planPath, out: nil)
    }

    /// `explain WHO`: nil when WHO names nobody. Reads both sides; writes nothing.
    public func explain(_ who: String) async throws -> [String]? {
        let store = try StateStore(directory: config.state.directory)
        let snapshot = try await readDirectory()
        let (client, accounts, brands) = try await readMixerAI()
        _ = client
        let input = try planInput(snapshot: snapshot, accounts: accounts, brands: brands, store: store, now: clock(),
                                  readOnly: true)
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        return Explainer.explain(who, input: input, plan: plan, normalize: Self.normalizeDN)
    }

    static func normalizeDN(_ dn: String) -> String { DistinguishedName.normalize(dn) }

    // MARK: - The run

    func run(_ mode: Mode, planPath: String?, out: String?) async -> Outcome {
        let started = clock()
        let runId = RunID.make(started)
        var timings: [String: Int] = [:]
        var warnings = config.warnings
        let store: StateStore
        var lock: StateLock?
        // A dry run may run beside a daemon that holds the lock: it then leaves unfinished intents to the daemon.
        var besideDaemon = false
        do {
            if !lockHeldByCaller {
                do {
                    lock = try StateLock(directory: config.state.directory)
                } catch let held as StateError where mode == .dryRun {
                    besideDaemon = true
                    warnings.append("\(held): a dry run only; unfinished intents are left to it")
                }
            }
            store = try StateStore(directory: config.state.directory)
        } catch {
            return finish(errorReport(runId, mode, started, "\(error)", snapshot: nil), store: nil, exit: 1)
        }
        defer { withExtendedLifetime(lock) {} }

        // While a daemon's full run reads and plans, its drainer sends offboardings only: the plan must not race
        // the invites and updates of the previous one.
        await drainer?.holdNonUrgent(true)
        defer { if let drainer { Task { await drainer.holdNonUrgent(false) } } }

        // 1. Both sides are read at once (each on its own thread: libldap's worker, libcurl's queue), so a run
        //    costs the slower of the two reads, not their sum. MixerAI is only read here: no write budget spent.
        let directoryStart = clock()
        let clock = self.clock
        async let directoryRead: (Result<DirectorySnapshot, any Error>, Int) = {
            let result: Result<DirectorySnapshot, any Error>
            do { result = .success(try await readDirectory()) } catch { result = .failure(error) }
            return (result, Int(clock().timeIntervalSince(directoryStart) * 1000))
        }()
        async let mixerRead: (Result<(MixerAIClient, [Account], [MixerBrand]), any Error>, Int) = {
            let result: Result<(MixerAIClient, [Account], [MixerBrand]), any Error>
            do { result = .success(try await readMixerAI()) } catch { result = .failure(error) }
            return (result, Int(clock().timeIntervalSince(directoryStart) * 1000))
        }()
        let (directoryResult, directoryMs) = await directoryRead
        let (mixerResult, mixerMs) = await mixerRead
        timings["directory_ms"] = directoryMs
        timings["mixerai_ms"] = mixerMs

        // 2. The directory decides first: a failed read is an error; a partial one holds the plan (decision 10).
        let snapshot: DirectorySnapshot
        switch directoryResult {
        case .success(let s): snapshot = s
        case .failure(let failure as SnapshotFailure):
            let summary = RunReport.Snapshot(complete: false, entries: failure.entriesRead, people: 0, inScope: 0,
                                             pages: failure.pagesRead, searches: failure.searches.map(\.ldapsearch),
                                             error: failure.message)
            if failure.stage == .failed {
                var report = errorReport(runId, mode, started, "directory read failed: \(failure.message)", snapshot: summary)
                report.timings = timings
                report.timings["total_ms"] = ms(since: started)
                return finish(report, store: store, exit: 1)
            }
            let verdicts = Gates.evaluate(GateInput(incompleteRead: failure.message, inScopePeople: failure.entriesRead), policy: config.policy)
            var report = RunReport(runId: runId, mode: mode.rawValue, outcome: "held", planHash: nil, startedAt: started,
                                   finishedAt: clock(), snapshot: summary, gates: verdicts, timings: timings,
                                   errors: ["incomplete directory read: \(failure.message)"], warnings: warnings)
            report.timings["total_ms"] = ms(since: started)
            return finish(report, store: store, exit: 3)
        case .failure(let error):
            return finish(errorReport(runId, mode, started, "directory read failed: \(error)", snapshot: nil), store: store, exit: 1)
        }
        log("directory: \(snapshot.proof.entries) entries, \(snapshot.people.count) people, \(snapshot.proof.pages) pages")

        let client: MixerAIClient
        let accounts: [Account]
        let brands: [MixerBrand]
        switch mixerResult {
        case .success(let read): (client, accounts, brands) = read
        case .failure(let error):
            var report = errorReport(runId, mode, started, "MixerAI: \(error)", snapshot: Self.summary(snapshot, inScope: 0))
            report.timings = timings
            report.timings["total_ms"] = ms(since: started)
            return finish(report, store: store, exit: 1)
        }
        log("mixerai: \(accounts.count) users, \(brands.count) brands")

        // 3. Unfinished intents of an earlier run are settled from this read before anything new (crash safety).
        do {
            let unfinished = besideDaemon || !recoverUnfinished ? [] : try store.unfinishedIntents()
            if !unfinished.isEmpty {
                let notes = try Recovery.resolve(unfinished, accounts: accounts, store: store, now: clock())
                warnings += notes
                for note in notes { log(note) }
            }
        } catch {
            return finish(errorReport(runId, mode, started, "state: \(error)", snapshot: Self.summary(snapshot, inScope: 0)),
                          store: store, exit: 1)
        }

        // 4. Plan and gates.
        let planStart = clock()
        let now = clock()
        let input: PlanInput
        do {
            input = try planInput(snapshot: snapshot, accounts: accounts, brands: brands, store: store, now: now,
                                  readOnly: mode == .dryRun)
        } catch {
            return finish(errorReport(runId, mode, started, "state: \(error)", snapshot: Self.summary(snapshot, inScope: 0)),
                          store: store, exit: 1)
        }
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        if keepUntilExit { ExitReclaim.keep(input, snapshot) }
        let hash = PlanHash.of(plan.changes)
        let inScope = Self.inScope(input)
        let managedActive = plan.managedActiveAccounts
        let missingGroups = snapshot.problems.compactMap { p -> String? in
            if case .missingRoleGroup(let dn) = p { return dn } else { return nil }
        }
        let gateInput: GateInput
        do {
            gateInput = GateInput(inScopePeople: inScope, lastGoodInScopePeople: try store.lastGoodInScope(),
                                  plannedDeactivations: plan.deactivations + plan.deletions,
                                  recentDeactivations: try store.deactivations(since: now.addingTimeInterval(-86400)),
                                  managedActiveAccounts: managedActive, plannedDowngrades: plan.downgrades,
                                  missingRoleGroups: missingGroups)
        } catch {
            return finish(errorReport(runId, mode, started, "state: \(error)", snapshot: Self.summary(snapshot, inScope: inScope)),
                          store: store, exit: 1)
        }
        let verdicts = Gates.evaluate(gateInput, policy: config.policy)
        let holds = Gates.holds(verdicts)
        let approved = holds && ((try? store.isApproved(planHash: hash)) ?? false)
        timings["plan_ms"] = ms(since: planStart)
        try? store.recordGates(runId: runId, planHash: hash, held: holds && !approved, verdicts: verdicts,
                               changes: plan.changes.count, at: now)
        let audit = Audit.compute(accounts: input.accounts, plan: plan, policy: config.policy, now: now)
        let budget = await client.budget
        let queueInfo = Self.queue(plan, budget: budget, now: now)

        func report(_ outcome: String, items: [RunReport.Item], errors: [String] = [], planFile: String? = nil) -> RunReport {
            var r = RunReport(runId: runId, mode: mode.rawValue, outcome: outcome, planHash: hash, startedAt: started,
                              finishedAt: clock(), snapshot: Self.summary(snapshot, inScope: inScope),
                              mixerai: ["users": accounts.count, "brands": brands.count, "active": input.accounts.filter(\.active).count,
                                        "managed_active": managedActive],
                              gates: verdicts, approvedBy: approved ? hash : nil, changes: items,
                              conflicts: RunReport.conflicts(plan.conflicts), manualActions: RunReport.manual(plan.manualActions),
                              problems: RunReport.problems(snapshot.problems), audit: audit, queue: queueInfo,
                              timings: timings, errors: errors, warnings: warnings, planFile: planFile)
            r.timings["total_ms"] = ms(since: started)
            return r
        }

        // 5a. Dry run: the plan file and the report.
        if mode == .dryRun {
            let path = out ?? config.state.directory + "/plans/\(runId).json"
            let file = PlanFile(planHash: hash, runId: runId, createdAt: RunReport.iso(now), held: holds && !approved,
                                changes: plan.queue)
            var errors: [String] = []
            do {
                try file.write(to: path)
                if out == nil {
                    try file.write(to: config.state.directory + "/plans/latest.json")
                    PlanFile.prune(directory: config.state.directory + "/plans", keep: config.report.keep)
                }
            } catch { errors.append("cannot write the plan file: \(error)") }
            try? store.recordSnapshot(runId: runId, inScope: inScope, people: snapshot.people.count, good: false, at: now)
            let items = plan.queue.map { RunReport.Item($0) }
            let outcome = holds && !approved ? "held" : plan.changes.isEmpty ? "in-sync" : "changes"
            let exit: Int32 = !errors.isEmpty ? 1 : outcome == "held" ? 3 : outcome == "changes" ? 2 : 0
            return finish(report(errors.isEmpty ? outcome : "error", items: items, errors: errors, planFile: path), store: store, exit: exit)
        }

        // 5b. Apply: a saved plan must still be the plan (same hash from a fresh read of both sides).
        if let planPath {
            do {
                let saved = try PlanFile.load(planPath)
                if saved.planHash != hash {
                    let items = plan.queue.map { RunReport.Item($0, status: "skipped", statusReason: "the saved plan is out of date") }
                    return finish(report("error", items: items, errors: [
                        "refused: the directory or MixerAI changed since \(planPath) was made (its plan_hash \(saved.planHash), now \(hash)); run plan again",
                    ], planFile: planPath), store: store, exit: 1)
                }
            } catch {
                return finish(report("error", items: [], errors: ["\(error)"], planFile: planPath), store: store, exit: 1)
            }
        }
        if holds && !approved {
            if drainer != nil { try? store.dropQueued(source: .full) }
            let items = plan.queue.map { RunReport.Item($0, status: "skipped", statusReason: "held by a safety gate") }
            return finish(report("held", items: items, planFile: planPath), store: store, exit: 3)
        }
        if approved { try? store.consumeApproval(planHash: hash, runId: runId, at: now) }
        // Only the accounts this apply touches or links are looked up: no index of every account.
        let wanted = Set(plan.changes.compactMap(\.mixerUserId) + plan.adoptions.values)
        var profiles: [String: AccountProfile] = [:]
        var emails: [String: String] = [:]
        for a in input.accounts where wanted.contains(a.id) {
            profiles[a.id] = AccountMapping.profile(a)
            emails[a.id] = a.email
        }
        for (anchor, id) in plan.adoptions {
            try? store.link(anchor: anchor, userId: id, email: emails[id], at: now)
        }
        let applyStart = clock()
        let results: [Applier.Result]
        if let drainer {
            results = await queueAndWait(plan.queue, drainer: drainer, client: client, brands: brands, accounts: input.accounts,
                                         store: store, runId: runId, hash: hash, approved: approved, profiles: profiles,
                                         readStart: started)
        } else {
            var applier = Applier(client: client, store: store, runId: runId, planHash: hash, approved: approved,
                                  brandIdByName: Dictionary(brands.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a }),
                                  profiles: profiles, maxBudgetWait: maxBudgetWait, clock: clock)
            applier.log = log
            applier.shouldStop = shouldStop
            results = await applier.apply(plan.queue)
        }
        timings["apply_ms"] = ms(since: applyStart)
        let items = results.map { RunReport.Item($0.change, status: $0.status, statusReason: $0.reason) }
        let left = items.filter { $0.status != "applied" }.count
        try? store.recordSnapshot(runId: runId, inScope: inScope, people: snapshot.people.count, good: true, at: now)
        let outcome = plan.changes.isEmpty ? "in-sync" : "applied"
        return finish(report(outcome, items: items, planFile: planPath), store: store, exit: left > 0 ? 4 : 0)
    }

    /// The daemon's apply: the plan's changes go to the durable queue (replacing what earlier plans left there),
    /// the drainer sends them most urgent first, and the run reports what it saw happen while the budget allowed.
    func queueAndWait(_ queue: [Change], drainer: QueueDrainer, client: MixerAIClient, brands: [MixerBrand],
                      accounts: [Account], store: StateStore, runId: String, hash: String, approved: Bool,
                      profiles: [String: AccountProfile], readStart: Date) async -> [Applier.Result] {
        let keys = queue.map(QueueItem.key)
        await drainer.watch(keys)
        do {
            try store.enqueue(queue, source: .full, runId: runId, planHash: hash, approved: approved, profiles: profiles,
                              at: clock(), replacingItemsBefore: readStart)
        } catch {
            return queue.map { Applier.Result(change: $0, status: "failed", reason: "the write queue: \(error)") }
        }
        await drainer.attach(client: client, brands: brands, accounts: accounts)
        var done: [String: Applier.Result] = [:]
        while done.count < keys.count {
            let p = await drainer.progress(keys, deadline: clock().addingTimeInterval(maxBudgetWait))
            done = p.done
            if done.count == keys.count || p.stalled || shouldStop() { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        await drainer.unwatch(keys)
        let reason = shouldStop() ? "queued: mixer-sync was stopping; sent after the restart"
            : "queued: MixerAI's write budget; the daemon sends it when the window allows"
        return queue.map { done[QueueItem.key($0)] ?? Applier.Result(change: $0, status: "escrow", reason: reason) }
    }

    // MARK: - Reading both sides

    func readDirectory() async throws -> DirectorySnapshot {
        let reader = DirectoryReader(settings: config.directory, passwordFile: config.directory.bindPasswordFile)
        return try await reader.read(roleGroups: config.roles.map(\.group), now: clock())
    }

    /// The client, every account (mapped page by page: the wire records are not kept), and the brands.
    func readMixerAI() async throws -> (MixerAIClient, [Account], [MixerBrand]) {
        guard let settings = config.mixerai else {
            throw RunError("\(config.file): the [mixerai] section is required for this command")
        }
        let client = try MixerAIClient(connection: try MixerAISession.connection(settings, stateDirectory: config.state.directory))
        let me = try await client.me()
        let log = self.log
        let accounts = try await client.listUsers(map: AccountMapping.account) { page, users in
            if page % 50 == 0 { log("mixerai: \(page) pages, \(users) users so far") }
        }
        // A list that lacks the service account itself is not the whole list (a permission or paging fault):
        // planning from it would invite people who have accounts, so the run stops here.
        guard accounts.contains(where: { $0.id == me.id }) else {
            throw RunError("MixerAI's user list (\(accounts.count) users) does not contain the service account \(me.email): an incomplete list, nothing planned")
        }
        let brands = try await client.listBrands()
        return (client, accounts, brands)
    }

    func planInput(snapshot: DirectorySnapshot, accounts: [Account], brands: [MixerBrand], store: StateStore,
                   now: Date, readOnly: Bool) throws -> PlanInput {
        try planInput(snapshot: snapshot, accounts: accounts,
                      brandNamesById: Dictionary(brands.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }),
                      store: store, now: now, readOnly: readOnly)
    }

    /// `readOnly` (dry runs, explain): nothing in the state database changes.
    func planInput(snapshot: DirectorySnapshot, accounts: [Account], brandNamesById: [String: String], store: StateStore,
                   now: Date, readOnly: Bool) throws -> PlanInput {
        let ledger = try store.ledger()
        let grants = try store.pendingGrants(droppingAccepted: Set(accounts.filter { !$0.pending }.map(\.id)), write: !readOnly)
        return PlanInput(people: snapshot.people, accounts: accounts, links: try store.links(),
                         brandNamesById: brandNamesById, mappings: config.roles, policy: config.policy, serviceAccountEmail: config.mixerai?.serviceEmail,
                         pendingGrants: grants, ledger: ledger.states, offboardedAt: ledger.offboardedAt,
                         now: now)
    }

    // MARK: - Figures

    /// People who are not leavers and whom a role mapping provisions (the shrink gate's base).
    static func inScope(_ input: PlanInput) -> Int { Planner.inScope(input, normalize: normalizeDN) }

    static func summary(_ s: DirectorySnapshot, inScope: Int) -> RunReport.Snapshot {
        RunReport.Snapshot(complete: true, entries: s.proof.entries, people: s.people.count, inScope: inScope,
                           pages: s.proof.pages, searches: s.proof.searches.map(\.ldapsearch), server: s.proof.server)
    }

    /// The queue's writes and how long they take under the budget (decision 12).
    static func queue(_ plan: Plan, budget: WriteBudget, now: Date) -> RunReport.Queue {
        let writes = plan.writes
        let limit = budget.limit ?? 50
        let left = budget.remaining ?? limit
        var eta = 0
        if writes > left {
            let untilReset = max(0, Int((budget.resetAt ?? now.addingTimeInterval(3600)).timeIntervalSince(now)))
            let windows = (writes - left + limit - 1) / limit
            eta = untilReset + (windows - 1) * 3600
        }
        return RunReport.Queue(writes: writes, writeLimit: budget.limit, writesLeft: budget.remaining,
                               resetsAt: budget.resetAt.map(RunReport.iso), etaSeconds: writes == 0 ? 0 : eta)
    }

    func ms(since start: Date) -> Int { Int(clock().timeIntervalSince(start) * 1000) }

    func errorReport(_ runId: String, _ mode: Mode, _ started: Date, _ message: String, snapshot: RunReport.Snapshot?) -> RunReport {
        var r = RunReport(runId: runId, mode: mode.rawValue, outcome: "error", planHash: nil, startedAt: started, finishedAt: clock(),
                          snapshot: snapshot ?? RunReport.Snapshot(complete: false, entries: 0, people: 0, inScope: 0, pages: 0, searches: []),
                          errors: [message], warnings: config.warnings)
        r.timings["total_ms"] = ms(since: started)
        return r
    }

    /// Writes the report, records the run, and hands back the exit code.
    func finish(_ report: RunReport, store: StateStore?, exit: Int32) -> Outcome {
        var report = report
        // Offboardings still in the durable queue (from the change feed, or an earlier run) lead every report.
        if let queued = try? store?.pendingOffboards() {
            let shown = Set(report.pendingOffboard.map { $0.mixerUserId ?? $0.anchor ?? "" })
            for item in queued where !shown.contains(item.change.mixerUserId ?? item.change.anchor ?? "") {
                report.pendingOffboard.append(RunReport.Item(item.change, status: "escrow",
                                                             statusReason: item.lastError.map { "queued; last attempt: \($0)" }
                                                                 ?? "queued, offboarding first"))
            }
        }
        var paths: [String] = []
        var writer = ReportWriter(directory: config.report.directory,
                                  formats: config.report.formats.compactMap { ReportWriter.Format(rawValue: $0.rawValue) },
                                  keep: config.report.keep)
        let mode = report.mode
        writer.afterFile = { _ in CrashPoint.reached("mid-report-write", kind: mode) }
        do {
            paths = try writer.write(report)
        } catch {
            report.errors.append("cannot write the report: \(error)")
        }
        if report.mode == Mode.apply.rawValue {
            // The journal and the run list keep 180 days (the reports are the long-term record); full runs and
            // `apply` prune, not every change-feed pass.
            _ = try? store?.pruneHistory(before: clock().addingTimeInterval(-180 * 86400))
        }
        try? store?.recordRun(RunRecord(
            runId: report.runId, at: clock(), mode: report.mode, outcome: report.outcome, planHash: report.planHash,
            changes: report.changes.count, applied: report.counts["applied"] ?? 0,
            escrow: (report.counts["escrow"] ?? 0) + (report.counts["failed"] ?? 0), report: paths.first,
            durationMs: report.timings["total_ms"] ?? 0, error: report.errors.first))
        return Outcome(report: report, exitCode: paths.isEmpty && exit == 0 ? 1 : exit, reportPaths: paths)
    }
}

/// Values kept alive until the process exits (see `Reconciler.keepUntilExit`).
enum ExitReclaim {
    nonisolated(unsafe) private static var kept: [Any] = []
    private static let lock = NSLock()

    static func keep(_ values: Any...) {
        lock.lock()
        kept.append(contentsOf: values)
        lock.unlock()
    }
}
