import Config
import Directory
import Foundation
import LDAPClient
import Logging
import Metrics
import ServiceLifecycle
import State

/// The directory's change feed (product.md §1): an RFC 4533 refreshAndPersist session on a thread of its own,
/// resumed from its saved cookie after a restart or a lost connection. Every change it hears of — and every
/// (re)connection, which may follow an outage — triggers the fast path (`Reconciler.restrict`), which reads the
/// directory afresh and queues only what takes access away. Events that arrive while the fast path runs are
/// folded into its next pass.
public struct ChangeFeedService: Service {
    let holder: ConfigHolder
    let drainer: QueueDrainer
    /// Where the feed asks for a whole reconcile when it loses its footing (the daemon's full-run loop).
    let requests: FullRunRequests
    let logger: Logger

    public init(holder: ConfigHolder, drainer: QueueDrainer, requests: FullRunRequests = FullRunRequests(), logger: Logger) {
        self.holder = holder
        self.drainer = drainer
        self.requests = requests
        self.logger = logger
    }

    public func run() async throws {
        let config = holder.config
        guard config.daemon.changeFeed != .off else {
            Gauge(label: "mixer_sync_change_feed_connected").record(0)
            return try await gracefulShutdown()
        }
        guard config.daemon.changeFeed == .usn || config.daemon.changeFeed == .dirsync
                || !config.directory.feedScope.base.isEmpty else {
            // Users and groups under different suffixes: one search cannot watch both.
            logger.warning("change feed off: the configured bases share no suffix; full runs only")
            Gauge(label: "mixer_sync_change_feed_connected").record(0)
            return try await gracefulShutdown()
        }
        let inbox = FeedInbox()
        let listener = FeedListener(settings: config.directory, stateDirectory: config.state.directory,
                                    mode: config.daemon.changeFeed, usnInterval: config.daemon.usnPollInterval,
                                    inbox: inbox, logger: logger)
        listener.start()
        defer { listener.stop() }
        await withGracefulShutdownHandler {
            await handle(inbox)
        } onGracefulShutdown: {
            listener.stop()
        }
        // The process must not exit while the listener's thread is inside libldap (its exit handlers would run
        // under it): wait for the thread, which notices within its poll timeout.
        await listener.waitForExit(seconds: 3)
    }

    /// Runs the fast path for every batch of events until the inbox closes.
    func handle(_ inbox: FeedInbox) async {
        for await _ in inbox.signals {
            guard let batch = inbox.take() else { continue }
            if batch.fullRun {
                // The feed cannot say what changed (another DC, a USN gone back, a refused DirSync cookie): a whole
                // reconcile, grants included, rather than a restrict-only pass.
                logger.notice("change feed: asking for a full run now")
                requests.request()
                if batch.events == 0 { continue }
            }
            // Before the first full run has read MixerAI there is nothing to plan against: wait for it (its own
            // directory read may predate these events, so they are not dropped).
            while await !drainer.hasView && !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if Task.isShuttingDownGracefully { break }
            var reconciler = Reconciler(config: holder.config)
            reconciler.lockHeldByCaller = true
            let result = await reconciler.restrict(seenAt: batch.firstSeen, drainer: drainer)
            MemoryTrim.release()
            guard let outcome = result else { continue }
            let r = outcome.report
            logger.notice("change feed", metadata: [
                "run.id": "\(r.runId)", "run.outcome": "\(r.outcome)", "feed.events": "\(batch.events)",
                "run.changes": "\(r.changes.count)", "run.error": "\(r.errors.first ?? "")",
                "run.report": "\(outcome.reportPaths.first ?? "")"])
        }
    }
}

/// Changes heard of but not yet handled, shared by the listener's thread and the fast path.
final class FeedInbox: @unchecked Sendable {
    struct Batch {
        /// When the first directory change of the batch was heard of; nil for a pass after a (re)connection only.
        var firstSeen: Date?
        var events: Int
        /// The feed lost track of what changed: a full run is wanted, not only the fast path.
        var fullRun = false
    }

    private let lock = NSLock()
    private var pending: Batch?
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func post(events: Int, at: Date?, fullRun: Bool = false) {
        lock.lock()
        if pending == nil { pending = Batch(firstSeen: nil, events: 0) }
        if fullRun { pending!.fullRun = true }
        if let at { pending!.firstSeen = min(pending!.firstSeen ?? at, at) }
        pending!.events += events
        lock.unlock()
        continuation.yield()
    }

    func take() -> Batch? {
        lock.lock()
        defer { pending = nil; lock.unlock() }
        return pending
    }

    func finish() { continuation.finish() }
}

/// The blocking side: connects, refreshes from the cookie, then polls the persist phase; reconnects with
/// backoff (0.5 s doubling to 30 s) when the server goes away.
final class FeedListener: @unchecked Sendable {
    let settings: DirectorySettings
    let stateDirectory: String
    /// "syncrepl": a server without it is an error, retried; "usn": poll AD's uSNChanged; "auto": syncrepl, else
    /// uSNChanged when the server is Active Directory, else full runs only.
    let mode: DaemonSettings.ChangeFeed
    let usnInterval: Duration
    var required: Bool { mode == .syncrepl }
    let inbox: FeedInbox
    let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    init(settings: DirectorySettings, stateDirectory: String, mode: DaemonSettings.ChangeFeed, usnInterval: Duration,
         inbox: FeedInbox, logger: Logger) {
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.mode = mode
        self.usnInterval = usnInterval
        self.inbox = inbox
        self.logger = logger
    }

    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func start() {
        let thread = Thread { [self] in
            listen()
            done.signal()
        }
        thread.name = "mixer-sync.change-feed"
        self.thread = thread
        thread.start()
    }

    /// Waits (off the cooperative pool) until the thread has ended, or `seconds` have passed.
    func waitForExit(seconds: Double) async {
        guard thread != nil else { return }
        let done = self.done
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                if done.wait(timeout: .now() + seconds) == .success { done.signal() }
                k.resume()
            }
        }
    }

    /// Asks the thread to end; it notices within the poll timeout (1 s).
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        inbox.finish()
    }

    /// Whether the server's rootDSE has `highestCommittedUSN` (Active Directory, Samba AD).
    func isActiveDirectory() -> Bool {
        guard let options = try? DirectoryReader.connectionOptions(settings, passwordFile: settings.bindPasswordFile),
              let connection = try? LDAPConnection(options) else { return false }
        return (try? Self.rootUSN(connection, timeout: settings.timeout)) != nil
    }

    /// A server's answer (not a lost connection, not "busy", not the credentials) to a sync request with a cookie.
    static func refusesCookie(_ error: LDAPError) -> Bool {
        error.code.rawValue > 0 && error.code != .busy && error.code != .unavailable && error.kind != .credentials
    }

    private func listen() {
        if mode == .usn { return pollUSN(interval: usnInterval) }
        if mode == .dirsync { return pollDirSync(interval: usnInterval) }
        let (base, filter) = settings.feedScope
        let scope = base + "\n" + filter
        var backoff = 0.5
        let connected = Gauge(label: "mixer_sync_change_feed_connected")
        while !isStopped {
            do {
                let store = try StateStore(directory: stateDirectory)
                let options = try DirectoryReader.connectionOptions(settings, passwordFile: settings.bindPasswordFile)
                let session = try SyncReplSession(options)
                let cookie = try store.feedCookie(scope: scope)
                var events: SyncReplSession.Events
                do {
                    events = try session.start(base: base, filter: filter, cookie: cookie, pollSeconds: 1)
                } catch let error as LDAPError where cookie != nil && Self.refusesCookie(error) {
                    // The server will not resume from this cookie (restored from a backup, or its state was lost:
                    // OpenLDAP says "consumer state is newer than provider"). Start afresh; the pass that follows
                    // every (re)connection reads the whole directory anyway.
                    try store.saveFeedCookie(nil, scope: scope, at: Date())
                    logger.notice("change feed: the server cannot resume from the saved cookie; starting afresh",
                                  metadata: ["feed.error": "\(error)"])
                    continue
                }
                if events.refreshRequired {
                    // The server cannot resume from this cookie: start afresh (and read everything once).
                    try store.saveFeedCookie(nil, scope: scope, at: Date())
                    logger.notice("change feed: the server asked for a full refresh; the cookie is dropped")
                    continue
                }
                try store.saveFeedCookie(session.cookie, scope: scope, at: Date())
                connected.record(1)
                logger.notice("change feed connected", metadata: [
                    "feed.server": "\(session.url)", "feed.base": "\(base)", "feed.resumed": "\(cookie != nil)",
                    "feed.refresh_changes": "\(events.changed.count)", "feed.refresh_present": "\(events.present)"])
                backoff = 0.5
                // Whatever happened while no session was open is caught by one pass now (no "seen" time: what it
                // finds was not heard of as it happened).
                inbox.post(events: events.changed.count, at: nil)
                var lastCookie = session.cookie
                while !isStopped {
                    events = try session.poll()
                    let now = Date()
                    if !events.changed.isEmpty || events.idSetEntries > 0 {
                        Counter(label: "mixer_sync_change_feed_events_total").increment(by: max(events.changed.count, 1))
                        inbox.post(events: max(events.changed.count, 1), at: now)
                    }
                    if let c = session.cookie, c != lastCookie {
                        try store.saveFeedCookie(c, scope: scope, at: now)
                        lastCookie = c
                    }
                    if events.refreshRequired { try store.saveFeedCookie(nil, scope: scope, at: now) }
                    if events.ended { break }
                }
                connected.record(0)
            } catch let error as LDAPError where !required && error.operation == .search && error.code.rawValue > 0
                        && (error.code == .unavailableCriticalExtension || isActiveDirectory()) {
                // The server refused the sync request (OpenLDAP without syncprov: unavailableCriticalExtension;
                // Samba AD: "other"). Active Directory is polled instead; anything else stays on full runs.
                connected.record(0)
                if isActiveDirectory() {
                    logger.notice("change feed: no syncrepl; Active Directory: polling uSNChanged instead",
                                  metadata: ["feed.error": "\(error)"])
                    return pollUSN(interval: usnInterval)
                }
                logger.notice("change feed: the directory does not offer syncrepl (RFC 4533); full runs only",
                              metadata: ["feed.error": "\(error)"])
                return
            } catch {
                connected.record(0)
                if isStopped { return }
                logger.warning("change feed lost; reconnecting", metadata: ["feed.error": "\(error)",
                                                                           "feed.retry_in_s": "\(backoff)"])
            }
            pause(seconds: backoff)
            backoff = min(backoff * 2, 30)
        }
    }

    /// After a polling feed lost its connection: logs why, waits `backoff` and doubles it (to 30 s at most).
    /// False when the listener is stopping.
    func lost(_ feed: String, error: any Error, backoff: inout Double) -> Bool {
        Gauge(label: "mixer_sync_change_feed_connected").record(0)
        if isStopped { return false }
        logger.warning("change feed (\(feed)) lost; reconnecting", metadata: [
            "feed.error": "\(error)", "feed.retry_in_s": "\(backoff)"])
        pause(seconds: backoff)
        backoff = min(backoff * 2, 30)
        return true
    }

    /// Sleeps `seconds` on the listener's thread, in steps of at most 0.1 s so that `stop()` is noticed.
    func pause(seconds: Double) {
        var left = seconds
        while left > 0 && !isStopped {
            Thread.sleep(forTimeInterval: min(0.1, left))
            left -= 0.1
        }
    }
}

extension Duration {
    /// The duration in seconds, fractions included (the polling feeds' intervals).
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
