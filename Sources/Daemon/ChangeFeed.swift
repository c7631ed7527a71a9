import Config
import Directory
import Foundation
import LDAPClient
import Logging
import Metrics
import ServiceLifecycle
import State

/// The directory's change feed (docs/daemon.md, docs/change-feed.md): an RFC 4533 refreshAndPersist session on a thread of its own,
/// resumed from its saved cookie after a restart or a lost connection. Every change it hears of — and every
/// (re)connection, which may follow an outage — triggers the fast path (`Reconciler.restrict`), which reads the
/// directory afresh and queues only what takes access away. Events that arrive while the fast path runs are
/// folded into its next pass.
public struct ChangeFeedService: Service {
    let holder: ConfigHolder
    let drainer: QueueDrainer
    /// Where the feed asks for a whole reconcile when it loses its footing (the daemon's full-run loop).
    let requests: FullRunRequests
    /// Shared with the drainer: while it is open, nothing the change feed queued is sent.
    let burst: FeedBurst
    let logger: Logger

    public init(holder: ConfigHolder, drainer: QueueDrainer, requests: FullRunRequests = FullRunRequests(),
                burst: FeedBurst, logger: Logger) {
        self.holder = holder
        self.drainer = drainer
        self.requests = requests
        self.burst = burst
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
        let inbox = FeedInbox(burst: burst)
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

    /// How long the feed must be quiet before a burst is judged, and the longest a burst is gathered before a
    /// pass judges what has arrived so far. A polling feed hears of changes once per interval: it must also see one
    /// more interval go by without changes ("still moving" → wait one more interval).
    static func settle(_ daemon: DaemonSettings) -> (quiet: Double, cap: Double) {
        let quiet = daemon.feedSettle.inSeconds
        let cap = max(daemon.feedSettleCap.inSeconds, quiet)
        guard daemon.changeFeed == .usn || daemon.changeFeed == .dirsync else { return (quiet, cap) }
        let interval = daemon.usnPollInterval.inSeconds
        return (interval + max(quiet, 0.25), max(cap, 2 * interval + max(quiet, 0.25)))
    }

    /// Waits until the batch waiting has been quiet for `quiet` seconds, or `cap` seconds have passed since its
    /// first event; returns how long the batch was gathered.
    static func gather(_ inbox: FeedInbox, quiet: Double, cap: Double) async -> Double {
        var first = FeedInbox.uptime
        while let times = inbox.times {
            first = times.first
            let now = FeedInbox.uptime
            let wait = min(quiet - (now - times.last), cap - (now - times.first))
            if wait <= 0 || Task.isShuttingDownGracefully { break }
            try? await Task.sleep(for: .milliseconds(Int64(max(1, wait * 1000))))
        }
        return max(0, FeedInbox.uptime - first)
    }

    /// Runs the fast path for every burst of events until the inbox closes. A burst is gathered until the feed has
    /// been quiet for the settle time (or the cap is reached), then judged as one plan against the gates; while
    /// it is gathered and judged the drainer sends nothing the feed queued (`FeedBurst`).
    func handle(_ inbox: FeedInbox) async {
        let approvals = Task { await watchApprovals(inbox) }
        defer { approvals.cancel() }
        for await _ in inbox.signals {
            let (quiet, cap) = Self.settle(holder.config.daemon)
            let gathered = await Self.gather(inbox, quiet: quiet, cap: cap)
            guard let batch = inbox.take() else { continue }
            if batch.fullRun {
                // The feed cannot say what changed (another DC, a USN gone back, a refused DirSync cookie): a whole
                // reconcile, grants included, rather than a restrict-only pass.
                logger.notice("change feed: asking for a full run now")
                requests.request()
                if batch.events == 0 && burst.members.isEmpty {
                    await settled(inbox)
                    continue
                }  // (a burst with queued changes is judged again first, below)
            }
            // Before the first full run has read MixerAI there is nothing to plan against: wait for it (its own
            // directory read may predate these events, so they are not dropped).
            while await !drainer.hasView && !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if Task.isShuttingDownGracefully { break }
            if batch.firstSeen != nil {
                Metrics.Timer(label: "mixer_sync_change_feed_settle_seconds").recordNanoseconds(Int64(gathered * 1e9))
            }
            var reconciler = Reconciler(config: holder.config)
            reconciler.lockHeldByCaller = true
            let passStarted = FeedInbox.uptime
            let result = await reconciler.restrict(seenAt: batch.firstSeen, drainer: drainer, burst: burst.members)
            MemoryTrim.release()
            // A read made while a change was still being written may see part of it before its events arrive (the
            // feed delivers them late under load): what a pass queued goes only after the feed stayed quiet for
            // the settle time (or as long as the pass took, if longer) after it. An event meanwhile means
            // another pass of the same burst, which judges everything again first.
            let confirm = min(cap, max(quiet, FeedInbox.uptime - passStarted))
            guard let outcome = result else {
                // Nothing new to take away: what the burst queued was judged whole already.
                await settled(inbox, confirming: burst.members.isEmpty ? 0 : confirm)
                continue
            }
            let r = outcome.report
            switch outcome.exitCode {
            case 3:
                // Held: what earlier passes of this burst queued was withdrawn; an approval of this hash releases it.
                burst.heldPlan = r.planHash
                burst.forgetMembers()
                await settled(inbox)
            case 0:
                burst.joined(runId: r.runId)
                await settled(inbox, confirming: confirm)
            default:
                Counter(label: "mixer_sync_change_feed_failures_total").increment()
                // The read (or the state) failed: nothing was judged. Try again shortly rather than leave what the
                // burst queued waiting for an event that may never come.
                if !burst.members.isEmpty {
                    try? await Task.sleep(for: .seconds(1))
                    inbox.post(events: 0, at: nil)
                } else {
                    await settled(inbox)
                }
            }
            logger.notice("change feed", metadata: [
                "run.id": "\(r.runId)", "run.outcome": "\(r.outcome)", "feed.events": "\(batch.events)",
                "feed.settle_ms": "\(Int(gathered * 1000))",
                "run.changes": "\(r.changes.count)", "run.error": "\(r.errors.first ?? "")",
                "run.report": "\(outcome.reportPaths.first ?? "")"])
        }
    }

    /// A pass has judged everything heard before it: unless more arrived meanwhile (another pass of the same
    /// burst comes next), the burst is closed and the drainer may send what it queued.
    private func settled(_ inbox: FeedInbox, confirming seconds: Double = 0) async {
        var left = seconds
        while left > 0 && !inbox.hasPending && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(Int64(min(left, 0.05) * 1000)))
            left -= 0.05
        }
        if inbox.closeBurstIfQuiet() { await drainer.kick() }
    }

    /// A held fast-path plan is released by `approve HASH` (another process): once a second, look for the
    /// approval and run a pass, which applies the plan if it is still exactly the approved one.
    private func watchApprovals(_ inbox: FeedInbox) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            guard let hash = burst.heldPlan,
                  let store = try? StateStore.open(directory: holder.config.state.directory),
                  (try? await store.perform({ try $0.isApproved(planHash: hash) })) == true else { continue }
            burst.heldPlan = nil
            logger.notice("change feed: a held plan was approved; judging it again", metadata: ["plan.hash": "\(hash)"])
            inbox.post(events: 0, at: nil)
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
        /// Monotonic times (seconds of uptime) of the first and the last post of the batch.
        var firstPost: Double
        var lastPost: Double
    }

    private let lock = NSLock()
    private var pending: Batch?
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    /// Opened by every post: the queue holds the feed's items until the burst has been judged whole.
    let burst: FeedBurst

    init(burst: FeedBurst = FeedBurst()) {
        self.burst = burst
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    static var uptime: Double { ProcessInfo.processInfo.systemUptime }

    func post(events: Int, at: Date?, fullRun: Bool = false) {
        let now = Self.uptime
        lock.lock()
        burst.begin()
        if pending == nil { pending = Batch(firstSeen: nil, events: 0, firstPost: now, lastPost: now) }
        if fullRun { pending!.fullRun = true }
        if let at { pending!.firstSeen = min(pending!.firstSeen ?? at, at) }
        pending!.events += events
        pending!.lastPost = now
        lock.unlock()
        continuation.yield()
    }

    /// The first and last post of the batch waiting, if any.
    var times: (first: Double, last: Double)? {
        lock.lock()
        defer { lock.unlock() }
        return pending.map { ($0.firstPost, $0.lastPost) }
    }

    /// Whether anything was heard since the last `take()`.
    var hasPending: Bool { times != nil }

    /// Closes the burst unless something was heard since the last `take()` (atomically with `post`).
    func closeBurstIfQuiet() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard pending == nil else { return false }
        burst.close()
        return true
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
                let store = try StateStore.open(directory: stateDirectory)
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
