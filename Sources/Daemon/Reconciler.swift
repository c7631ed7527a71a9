import Config
import Foundation
import LDAPClient
import MixerAI
import Reconcile
import Report
import State

/// One reconcile run end to end (docs/reconciling.md, "One pipeline"): read → recover → plan → gate →
/// (write the plan | apply | queue | hold) → report, for `plan`, `apply`, the daemon's full runs and the change
/// feed's fast path alike. The edges act through seams (`DirectorySource`, `MixerAIAdmin`, the state, `PlanSink`);
/// every decision is the pure core's (`Planner`, `Gates`, `RunDecision`).
public struct Reconciler: Sendable {
    /// What a run produced: its report, where the report went, and the command's exit code (docs/commands.md).
    public struct Outcome: Sendable {
        public var report: RunReport
        public var exitCode: Int32
        public var reportPaths: [String]
    }

    public let config: MixerSyncConfig
    let clock: @Sendable () -> Date
    /// Where people come from (the LDAP directory of the configuration unless a test says otherwise).
    public var source: any DirectorySource
    /// MixerAI, connected afresh for each full run (a client from `[mixerai]` unless a test says otherwise).
    public var connect: @Sendable (MixerSyncConfig) throws -> any MixerAIAdmin = Reconciler.mixerAIClient
    /// What bans sign-in (GoTrue's admin API from `[supabase]` unless a test says otherwise); nil: bans are off.
    public var revoke: @Sendable (MixerSyncConfig) throws -> (any SignInRevoker)? = Reconciler.goTrueRevoker
    /// The state database (one per process: `MixerSyncConfig.openState`, SQLite or PostgreSQL).
    public var openState: @Sendable (MixerSyncConfig) throws -> StateStore = { try $0.openState() }
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
        source = config.source == .scim ? SCIMDirectorySource(config) : LDAPDirectorySource(config.directory)
    }

    /// The real MixerAI: a libcurl client with the `[mixerai]` settings and secrets.
    public static func mixerAIClient(_ config: MixerSyncConfig) throws -> any MixerAIAdmin {
        guard let settings = config.mixerai else {
            throw RunError("\(config.file): the [mixerai] section is required for this command")
        }
        return try MixerAIClient(connection: try MixerAISession.connection(settings, stateDirectory: config.state.directory))
    }

    // MARK: - Commands

    /// `plan`: a dry run. Exit 0 in sync, 2 changes pending, 3 held, 1 error.
    public func plan(out: String? = nil) async -> Outcome {
        await run(.dryRun) { try await act($0, $1, store: $2, out: out) }
    }

    /// `apply [PLAN]`. Exit 0 applied or nothing to do, 3 held, 4 applied with items left in escrow, 1 error.
    public func apply(planPath: String? = nil) async -> Outcome {
        await run(.apply) { try await act($0, $1, store: $2, planPath: planPath) }
    }

    /// `explain WHO`: nil when WHO names nobody. Reads both sides; writes nothing.
    public func explain(_ who: String) async throws -> [String]? {
        let store = try openState(config)
        let snapshot = try await source.read(roleGroups: config.roles.map(\.group), now: clock())
        let read = try await readMixerAI()
        let sides = Sides(snapshot: snapshot, admin: read.admin, accounts: read.accounts, brands: read.brands)
        let input = try await planInput(snapshot: snapshot, accounts: sides.accounts, brandNamesById: sides.brandNamesById,
                                        store: store, now: clock(), readOnly: true)
        let plan = Planner.plan(input, normalize: Self.normalizeDN)
        guard var lines = Explainer.explain(who, input: input, plan: plan, normalize: Self.normalizeDN) else { return nil }
        if config.source == .scim {
            // The IdP's requests that shaped each person shown (docs/scim.md), oldest first.
            let prefix = "scim:/Users/"
            let ids = snapshot.people.filter { p in p.dn.hasPrefix(prefix) && lines.contains { $0.contains(p.dn) } }
                .map { String($0.dn.dropFirst(prefix.count)) }
            let requests = try await store.perform { try $0.scimRequests(resources: ids) }
            for r in requests {
                lines.append("scim: \(RunReport.iso(r.at)) \(r.method) /Users/\(r.resourceId): \(r.summary)")
            }
        }
        // Sign-in (docs/revocation.md): the ban mixer-sync confirmed for each account shown, or why there is none.
        let now = clock()
        let bans = try await store.perform { try $0.bans(now: now) }
        let shown = lines.compactMap { line -> String? in
            guard line.hasPrefix("mixerai: account ") else { return nil }
            return line.dropFirst("mixerai: account ".count).split(separator: " ").first.map(String.init)
        }
        for id in shown {
            if let ban = bans[id] {
                lines.append("sign-in: account \(id) banned until \(RunReport.iso(ban.bannedUntil)) (Supabase Auth ban by run "
                             + "\(ban.runId), confirmed \(RunReport.iso(ban.confirmedAt)))")
            } else if config.supabase?.bans == true {
                lines.append("sign-in: account \(id) not banned by mixer-sync; an offboarding bans it first ([supabase])")
            } else {
                lines.append("sign-in: account \(id) not banned; an offboarding would leave sign-in possible (no [supabase] section)")
            }
        }
        return lines
    }

    static func normalizeDN(_ dn: String) -> String { DistinguishedName.normalize(dn) }

    // MARK: - The run

    /// A full run: each step either hands the next what it needs or stops the run with a report (`RunStop`).
    func run(_ mode: RunMode, act: (RunContext, PlannedRun, StateStore) async throws -> Outcome) async -> Outcome {
        var ctx = RunContext(mode: mode, started: clock(), warnings: config.warnings)
        var state: OpenState?
        defer { withExtendedLifetime(state) {} }  // the lock is held until the report is written
        // While a daemon's full run reads and plans, its drainer sends offboardings only: the plan must not race
        // the invites and updates of the previous one. Released when the run ends, before the next can start.
        await drainer?.holdNonUrgent(true)
        let outcome: Outcome
        var lease: CommandLease?
        do {
            state = try open(&ctx)
            if mode == .apply && !lockHeldByCaller && config.state.backend == .postgresql {
                // A shared state: `apply` leads for its run, or does not run beside the daemon that does.
                do { lease = try CommandLease(config: config, store: state!.store) } catch { throw RunStop(error: "\(error)") }
            }
            let sides = try await readBoth(&ctx)
            try await recover(sides, state: state!, &ctx)
            let planned = try await plan(sides, store: state!.store, &ctx)
            outcome = try await act(ctx, planned, state!.store)
        } catch {
            let stop = error as? RunStop ?? RunStop(error: "\(error)")
            outcome = await finish(stop.report(ctx, finishedAt: clock()), store: state?.store, exit: stop.exit)
        }
        await lease?.release()
        await drainer?.holdNonUrgent(false)
        return outcome
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
