import ArgumentParser
import Daemon
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import State

/// `mixer-sync run`: the daemon (under systemd: `Type=notify`).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The daemon: full reconciles on [daemon].full_sync_interval, the directory's change feed "
            + "between them (offboarding within a second), one durable write queue; SIGHUP reloads a validated config, SIGTERM stops after the in-flight call. Exit 0 on SIGTERM · 1 when it cannot start.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        var logger = Logger(label: "mixer-sync")
        logger.logLevel = ProcessInfo.processInfo.environment["MIXER_SYNC_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        // One daemon per state directory, for its whole life (a CLI apply meanwhile is refused).
        let lock: StateLock
        do {
            lock = try StateLock(directory: config.state.directory)
        } catch {
            Terminal.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        let holder = ConfigHolder(config)
        let notify = SystemdNotify()
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["mixer_sync_offboarding_latency_seconds"] =
            [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900].map { .milliseconds(Int64($0 * 1000)) }
        factory.durationHistogramBuckets["mixer_sync_change_feed_settle_seconds"] =
            [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5].map { .milliseconds(Int64($0 * 1000)) }
        MetricsSystem.bootstrap(factory)
        let drainer: QueueDrainer
        // The change feed's burst: while it is being gathered and judged, the drainer sends nothing the feed queued.
        let burst = FeedBurst()
        do {
            drainer = QueueDrainer(store: try StateStore(directory: config.state.directory), logger: logger, burst: burst)
        } catch {
            Terminal.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        let metrics: MetricsServer
        do {
            metrics = try MetricsServer(listen: config.daemon.metricsListen, registry: registry, logger: logger)
        } catch {
            Terminal.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        let requests = FullRunRequests()
        var group = ServiceGroupConfiguration(services: [
            .init(service: DaemonService(holder: holder, drainer: drainer, requests: requests, notify: notify, logger: logger)),
            .init(service: ChangeFeedService(holder: holder, drainer: drainer, requests: requests, burst: burst,
                                                logger: logger)),
            .init(service: ReloadService(path: global.configPath, holder: holder, logger: logger)),
            .init(service: WatchdogService(notify: notify)),
            .init(service: metrics),
        ], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(60)
        try await ServiceGroup(configuration: group).run()
        withExtendedLifetime(lock) {}
    }
}
