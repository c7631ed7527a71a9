import Config
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import State

/// `mixer-sync run` wired (docs/daemon.md): the state directory's lock for the process's life, the metrics
/// registry, the one writer (the drainer) shared by full runs and the change feed, and the services under one
/// ServiceGroup — full runs, the change feed, SIGHUP reloads, the systemd watchdog, `/metrics`.
public enum DaemonRuntime {
    /// Runs until SIGTERM or SIGINT; throws `RunError` when the daemon cannot start.
    public static func run(config: MixerSyncConfig, configPath: String, logLevel: Logger.Level = .info) async throws {
        var logger = Logger(label: "mixer-sync")
        logger.logLevel = logLevel
        // One daemon per state directory, for its whole life (a CLI apply meanwhile is refused).
        let lock: StateLock
        let store: StateStore
        let metrics: MetricsServer
        let registry = PrometheusCollectorRegistry()
        do {
            lock = try StateLock(directory: config.state.directory)
            store = try config.openState()
            metrics = try MetricsServer(listen: config.daemon.metricsListen, registry: registry, logger: logger)
        } catch {
            throw RunError("cannot start: \(error)")
        }
        bootstrapMetrics(registry)
        let holder = ConfigHolder(config)
        let notify = SystemdNotify()
        // `source = "scim"`: the bridge serves the IdP in every process; its leavers reach the work that runs.
        let sink: SCIMEventSink? = config.scim == nil ? nil : SCIMEventSink()
        let bridge: SCIMServer?
        do { bridge = try sink.map { try SCIMServer(config: config, sink: $0, logger: logger) } } catch {
            throw RunError("cannot start: \(error)")
        }
        var services: [Supervised]
        if config.state.backend == .postgresql {
            // Two hosts, one leader (docs/high-availability.md): the work runs only while this process holds the lease.
            let leadership = Leadership(config: config, notify: notify, logger: logger)
            services = [Supervised("leadership lease", LeadershipService(leadership: leadership), logger: logger),
                        Supervised("leader's work", LeaderWork(leadership: leadership, holder: holder, notify: notify,
                                                               logger: logger, scim: sink), logger: logger)]
        } else {
            // The change feed's burst: while it is being gathered and judged, the drainer sends nothing the feed queued.
            let burst = FeedBurst()
            let drainer = QueueDrainer(store: store, logger: logger, burst: burst)
            let requests = FullRunRequests()
            var feed = ChangeFeedService(holder: holder, drainer: drainer, requests: requests, burst: burst, logger: logger)
            feed.scim = sink
            services = [
                Supervised("full runs", DaemonService(holder: holder, drainer: drainer, requests: requests, notify: notify,
                                                      logger: logger), logger: logger),
                Supervised("change feed", feed, logger: logger),
            ]
        }
        services += [
            Supervised("configuration reload", ReloadService(path: configPath, holder: holder, logger: logger), logger: logger),
            Supervised("systemd watchdog", WatchdogService(notify: notify), logger: logger),
            Supervised("metrics server", metrics, logger: logger),
        ]
        if let bridge { services.append(Supervised("SCIM bridge", bridge, logger: logger)) }
        var group = ServiceGroupConfiguration(services: services.map(\.configuration), gracefulShutdownSignals: [.sigterm, .sigint],
                                              logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(60)
        do {
            try await ServiceGroup(configuration: group).run()
        } catch let error as RunError {
            throw error
        } catch {
            throw RunError("the daemon stopped: \(error)")
        }
        withExtendedLifetime(lock) {}
    }

    /// Prometheus behind swift-metrics, with buckets sized for what each histogram measures.
    static func bootstrapMetrics(_ registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["mixer_sync_offboarding_latency_seconds"] =
            [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900].map { .milliseconds(Int64($0 * 1000)) }
        factory.durationHistogramBuckets["mixer_sync_change_feed_settle_seconds"] =
            [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5].map { .milliseconds(Int64($0 * 1000)) }
        MetricsSystem.bootstrap(factory)
    }
}
