import Config
import Foundation
import Logging
import Metrics
import Report
import ServiceLifecycle
import State
import UnixSignals

/// The configuration a running daemon uses, replaced by a validated reload (SIGHUP).
public final class ConfigHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var current: MixerSyncConfig
    private var reloads = 0
    public init(_ config: MixerSyncConfig) { current = config }
    public var config: MixerSyncConfig {
        get { lock.lock(); defer { lock.unlock() }; return current }
        set { lock.lock(); current = newValue; reloads += 1; lock.unlock() }
    }
    /// How many times the configuration was replaced (services that keep something built from it look here).
    public var generation: Int { lock.lock(); defer { lock.unlock() }; return reloads }
}

/// `mixer-sync run`: full reconciles on a schedule (with jitter), applied, each journaled and reported like an
/// `apply`. SIGTERM lets the in-flight MixerAI call finish, leaves the rest in escrow and ends the service (exit 0).
/// After three whole runs in a row fail, it is in quarantine: retries slow down (doubling up to a day) and every
/// failed run says so in the log and in systemd's STATUS.
public struct DaemonService: Service {
    let holder: ConfigHolder
    let notify: SystemdNotify
    let logger: Logger
    /// The one writer: full runs and the change feed queue changes, it sends them.
    let drainer: QueueDrainer
    /// The change feed's requests for a full run before the scheduled time.
    let requests: FullRunRequests
    /// A fraction of the interval, at random, added to each wait so several instances do not run in step.
    var jitter = 0.1
    /// On a shared PostgreSQL state: the leadership term this work belongs to; it stops when the term ends.
    var term: Term?

    public init(holder: ConfigHolder, drainer: QueueDrainer, requests: FullRunRequests = FullRunRequests(),
                notify: SystemdNotify = SystemdNotify(), logger: Logger) {
        self.holder = holder
        self.drainer = drainer
        self.requests = requests
        self.notify = notify
        self.logger = logger
    }

    public func run() async throws {
        let drainer = self.drainer
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                let term = self.term
                group.addTask { await drainer.run(stopping: { Task.isShuttingDownGracefully || term?.ended == true }) }
                await fullRuns()
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            Task { await drainer.kick() }
        }
        guard term == nil || Task.isShuttingDownGracefully else { return }  // a term that ended: the process goes on
        notify.stopping()
        logger.info("mixer-sync daemon stopping")
    }

    /// Full reconciles until SIGTERM: the backstop that catches whatever the change feed cannot see.
    func fullRuns() async {
        if term == nil { notify.ready("started; first full reconcile now") }
        logger.info("mixer-sync daemon started", metadata: ["state.directory": "\(holder.config.state.directory)"])
        var failures = 0
        var first = true
        while !Task.isShuttingDownGracefully && term?.ended != true {
            let config = holder.config
            var reconciler = Reconciler(config: config)
            reconciler.lockHeldByCaller = true
            reconciler.drainer = drainer
            reconciler.recoverUnfinished = first
            first = false
            let term = self.term
            reconciler.shouldStop = { Task.isShuttingDownGracefully || term?.ended == true }
            reconciler.log = { [logger] line in logger.debug("\(line)") }
            let outcome = await reconciler.apply()
            MemoryTrim.release()
            let r = outcome.report
            failures = outcome.exitCode == 1 ? failures + 1 : 0
            let quarantine = failures >= 3
            let summary = PendingWork.daemonStatus(r, queueDepth: await Self.queueDepth(config), failures: failures,
                                                   quarantine: quarantine)
            notify.status(summary)
            Self.record(r, quarantine: quarantine)
            if outcome.exitCode == 1 {
                logger.error("full reconcile failed", metadata: ["run.id": "\(r.runId)", "run.error": "\(r.errors.first ?? "")",
                                                                 "run.failures": "\(failures)", "run.quarantine": "\(quarantine)"])
            } else {
                logger.info("full reconcile", metadata: ["run.id": "\(r.runId)", "run.outcome": "\(r.outcome)",
                                                         "run.changes": "\(r.changes.count)", "run.report": "\(outcome.reportPaths.first ?? "")"])
            }
            guard !Task.isShuttingDownGracefully && term?.ended != true else { break }
            let wait = Self.wait(interval: config.daemon.fullSyncInterval, failures: failures, jitter: jitter)
            do {
                let requests = self.requests
                if try await cancelWhenGracefulShutdown({ try await requests.sleep(for: wait) }) {
                    logger.notice("full reconcile asked for by the change feed")
                }
            } catch {
                break  // shutting down (or cancelled): no new run
            }
        }
    }

    /// Changes waiting in the durable queue now (for STATUS).
    static func queueDepth(_ config: MixerSyncConfig) async -> Int {
        guard let store = try? config.openState() else { return 0 }
        return (try? await store.perform { try $0.queueDepth().all }) ?? 0
    }

    /// What a run leaves in the metrics (swift-metrics; the Prometheus factory exports them).
    static func record(_ r: RunReport, quarantine: Bool) {
        Counter(label: "mixer_sync_runs_total", dimensions: [("outcome", r.outcome.rawValue)]).increment()
        for phase in ["directory", "mixerai", "plan", "apply", "total"] {
            if let ms = r.timings["\(phase)_ms"] {
                Metrics.Timer(label: "mixer_sync_phase_duration_seconds", dimensions: [("phase", phase)])
                    .recordMilliseconds(ms)
            }
        }
        for item in r.changes {
            Counter(label: "mixer_sync_changes_total", dimensions: [("kind", item.kind), ("status", item.status.rawValue)]).increment()
        }
        if r.held { Counter(label: "mixer_sync_held_plans_total").increment() }
        Gauge(label: "mixer_sync_pending_offboard").record(r.pendingOffboard.count)
        if let left = r.queue.writesLeft { Gauge(label: "mixer_sync_write_budget_remaining").record(left) }
        Gauge(label: "mixer_sync_quarantine").record(quarantine ? 1 : 0)
        Gauge(label: "mixer_sync_last_run_timestamp_seconds").record(Date().timeIntervalSince1970)
    }

    /// The pause before the next full run: the interval plus jitter; in quarantine the interval doubles per
    /// further failure, up to a day.
    static func wait(interval: Duration, failures: Int, jitter: Double) -> Duration {
        var base = interval
        if failures >= 3 {
            base = min(interval * (1 << min(failures - 2, 16)), .seconds(86400))
        }
        let extra = Double(base.components.seconds) * Double.random(in: 0...max(0, jitter))
        return base + .milliseconds(Int64(extra * 1000))
    }
}

/// SIGHUP: reload the configuration file; a file that does not validate is logged and the old one kept.
public struct ReloadService: Service {
    let path: String
    let holder: ConfigHolder
    let logger: Logger

    public init(path: String, holder: ConfigHolder, logger: Logger) {
        self.path = path
        self.holder = holder
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                let fresh = try ConfigLoader.load(path: path)
                holder.config = fresh
                logger.notice("configuration reloaded", metadata: ["config.file": "\(path)"])
            } catch {
                logger.error("configuration reload refused; the running configuration is kept",
                             metadata: ["config.file": "\(path)", "config.error": "\(error)"])
            }
        }
    }
}

/// WATCHDOG=1 at half of `$WATCHDOG_USEC`, while the service group runs.
public struct WatchdogService: Service {
    let notify: SystemdNotify

    public init(notify: SystemdNotify) { self.notify = notify }

    public func run() async throws {
        guard let interval = notify.watchdogInterval else { return try await gracefulShutdown() }
        while !Task.isShuttingDownGracefully {
            notify.watchdog()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
            } catch { return }
        }
    }
}
