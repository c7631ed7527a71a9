import Config
import Foundation
import Logging
import ServiceLifecycle
import State

/// The daemon's work on a shared PostgreSQL state — full runs, the change feed and the queue's writer — run only
/// while this process leads, one term at a time: a term that ends stops its work (the in-flight call finishes;
/// every later write is refused by the fence) before the next term may start. A standby runs none of it.
public struct LeaderWork: Service {
    let leadership: Leadership
    let holder: ConfigHolder
    let notify: SystemdNotify
    let logger: Logger
    let scim: SCIMEventSink?

    public init(leadership: Leadership, holder: ConfigHolder, notify: SystemdNotify, logger: Logger, scim: SCIMEventSink? = nil) {
        self.scim = scim
        self.leadership = leadership
        self.holder = holder
        self.notify = notify
        self.logger = logger
    }

    public func run() async throws {
        // Stops at SIGTERM (the group stops this service before the lease's, which then gives the lease up).
        for await term in leadership.newTerms.cancelOnGracefulShutdown() {
            guard !Task.isShuttingDownGracefully else { break }
            await work(term)
        }
    }

    /// One term: a fresh writer, feed and full-run loop (the first full run settles unfinished intents, the
    /// previous leader's included), until the term ends or the daemon stops.
    func work(_ term: Term) async {
        let store: StateStore
        do { store = try holder.config.openState() } catch {
            logger.error("leader: the state cannot be opened", metadata: ["state.error": "\(error)"])
            return
        }
        let burst = FeedBurst()
        let drainer = QueueDrainer(store: store, logger: logger, burst: burst)
        let requests = FullRunRequests()
        term.onEnd {
            requests.request()  // wakes the full-run loop, which then sees the term is over
            Task { await drainer.kick() }
        }
        var daemon = DaemonService(holder: holder, drainer: drainer, requests: requests, notify: notify, logger: logger)
        daemon.term = term
        var feed = ChangeFeedService(holder: holder, drainer: drainer, requests: requests, burst: burst, logger: logger)
        feed.term = term
        feed.scim = scim
        let (fullRuns, changeFeed) = (daemon, feed)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await fullRuns.run() }
            group.addTask { try? await changeFeed.run() }
            await group.waitForAll()
        }
        logger.notice("leader: the term's work has stopped", metadata: ["lease.epoch": "\(term.epoch)"])
    }
}
