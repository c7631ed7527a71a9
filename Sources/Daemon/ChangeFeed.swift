import Config
import Directory
import Foundation
import LDAPClient
import Logging
import Metrics
import ServiceLifecycle
import State

/// The daemon's side of the directory's change feed (docs/daemon.md, docs/change-feed.md): the feed itself
/// (`DirectoryFeed`: syncrepl, uSNChanged or DirSync on a thread of its own) posts what it hears to the inbox;
/// every burst of changes — and every (re)connection, which may follow an outage — triggers the fast path
/// (`Reconciler.restrict`), which reads the directory afresh and queues only what takes access away. Events that
/// arrive while the fast path runs are folded into its next pass. SIGHUP restarts the feed when the reloaded
/// configuration changes what it watches.
public struct ChangeFeedService: Service {
    let holder: ConfigHolder
    let drainer: QueueDrainer
    /// Where the feed asks for a whole reconcile when it loses its footing (the daemon's full-run loop).
    let requests: FullRunRequests
    /// Shared with the drainer: while it is open, nothing the change feed queued is sent.
    let burst: FeedBurst
    let logger: Logger
    /// On a shared PostgreSQL state: the leadership term this feed belongs to; it stops when the term ends.
    var term: Term?
    /// `source = "scim"`: the bridge posts its leavers to this feed's inbox (there is no directory feed).
    var scim: SCIMEventSink?

    public init(holder: ConfigHolder, drainer: QueueDrainer, requests: FullRunRequests = FullRunRequests(),
                burst: FeedBurst, logger: Logger) {
        self.holder = holder
        self.drainer = drainer
        self.requests = requests
        self.burst = burst
        self.logger = logger
    }

    public func run() async throws {
        let inbox = FeedInbox(burst: burst)
        let feed = FeedHandle()
        scim?.attach(inbox: inbox, requests: requests)
        defer { scim?.detach(inbox) }
        feed.replace(with: listener(holder.config, inbox: inbox))
        term?.onEnd {
            feed.stop()
            inbox.finish()
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await handle(inbox) }
                group.addTask { await followReloads(feed, inbox: inbox) }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            feed.stop()
            inbox.finish()
        }
        // The process must not exit while the feed's thread is inside libldap (its exit handlers would run under
        // it): wait for the thread, which notices within its poll timeout.
        await feed.waitForExit(seconds: 3)
    }

    /// The directory's change feed for a configuration, started; nil when the configuration has none.
    func listener(_ config: MixerSyncConfig, inbox: FeedInbox) -> DirectoryFeed? {
        if config.source == .scim { return nil }  // the SCIM bridge posts to the inbox itself
        let mode: DirectoryFeed.Mode
        switch config.daemon.changeFeed {
        case .off:
            Gauge(label: "mixer_sync_change_feed_connected").record(0)
            return nil
        case .usn: mode = .usn
        case .dirsync: mode = .dirsync
        case .syncrepl: mode = .syncrepl
        case .auto: mode = .auto
        }
        guard mode == .usn || mode == .dirsync || !config.directory.feedScope.base.isEmpty else {
            // Users and groups under different suffixes: one search cannot watch both.
            logger.warning("change feed off: the configured bases share no suffix; full runs only")
            Gauge(label: "mixer_sync_change_feed_connected").record(0)
            return nil
        }
        let feed = DirectoryFeed(settings: config.directory, mode: mode, interval: config.daemon.usnPollInterval,
                                 events: DaemonFeedEvents(inbox: inbox, config: config, logger: logger))
        feed.start()
        return feed
    }

    /// SIGHUP: when a reloaded configuration changes what the feed watches or how, the feed is restarted with it
    /// (the inbox, the burst and what it queued stay).
    func followReloads(_ feed: FeedHandle, inbox: FeedInbox) async {
        var generation = holder.generation
        var watched = Self.fingerprint(holder.config)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            guard holder.generation != generation else { continue }
            generation = holder.generation
            let config = holder.config
            let fresh = Self.fingerprint(config)
            guard fresh != watched else { continue }
            watched = fresh
            logger.notice("change feed: restarting with the reloaded configuration")
            await feed.stopAndWait()
            feed.replace(with: listener(config, inbox: inbox))
        }
    }

    /// What the feed is built from: the directory settings, the feed's mode and interval, the state directory.
    static func fingerprint(_ config: MixerSyncConfig) -> String {
        "\(config.directory)|\(config.daemon.changeFeed)|\(config.daemon.usnPollInterval)|\(config.state.directory)"
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
            // A poster that posts only after its change committed (the SCIM bridge, docs/scim.md) says so: a read
            // never sees half of its change, so nothing is waited for beyond the settle time.
            let confirm = inbox.postsAfterCommit ? 0 : min(cap, max(quiet, FeedInbox.uptime - passStarted))
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
                  let store = try? holder.config.openState(),
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
    /// Set by a poster whose posts follow its committed change (the SCIM bridge): a pass's read cannot see part of
    /// a change before its post, so a pass need not wait for the feed to confirm it. A directory's change feed
    /// delivers events late under load, so it leaves this false.
    var postsAfterCommit: Bool {
        get { lock.withLock { afterCommit } }
        set { lock.withLock { afterCommit = newValue } }
    }
    private var afterCommit = false

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

/// The feed running now (replaced when a reload changes it).
final class FeedHandle: @unchecked Sendable {
    private let lock = NSLock()
    private var feed: DirectoryFeed?

    func replace(with feed: DirectoryFeed?) { lock.withLock { self.feed = feed } }

    func stop() { lock.withLock { feed }?.stop() }

    func waitForExit(seconds: Double) async { await lock.withLock({ feed })?.waitForExit(seconds: seconds) }

    func stopAndWait() async {
        stop()
        await waitForExit(seconds: 3)
    }
}

/// What the directory's change feed tells the daemon: its changes go to the inbox, its cookies to the state,
/// its notes to the log, its connection to the metrics.
struct DaemonFeedEvents: FeedEvents {
    let inbox: FeedInbox
    let config: MixerSyncConfig
    let logger: Logger

    func changed(_ count: Int, at: Date?, fullRun: Bool) {
        if count > 0 && at != nil { Counter(label: "mixer_sync_change_feed_events_total").increment(by: count) }
        inbox.post(events: count, at: at, fullRun: fullRun)
    }

    func connected(_ up: Bool) { Gauge(label: "mixer_sync_change_feed_connected").record(up ? 1 : 0) }

    func cookie(scope: String) throws -> [UInt8]? {
        try config.openState().feedCookie(scope: scope)
    }

    func saveCookie(_ cookie: [UInt8]?, scope: String) throws {
        try config.openState().saveFeedCookie(cookie, scope: scope, at: Date())
    }

    func note(_ level: FeedNoteLevel, _ message: String, _ metadata: [String: String]) {
        let meta = Logger.Metadata(uniqueKeysWithValues: metadata.map { ($0.key, .string($0.value)) })
        switch level {
        case .notice: logger.notice("\(message)", metadata: meta)
        case .warning: logger.warning("\(message)", metadata: meta)
        }
    }
}
