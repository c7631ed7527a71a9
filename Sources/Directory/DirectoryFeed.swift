import Foundation
import LDAPClient
import Synchronization

/// The directory's change feed (docs/change-feed.md) on a thread of its own: one connect / listen / back-off loop
/// (0.5 s doubling to 30 s) around whichever way of hearing changes the server offers — an RFC 4533
/// refreshAndPersist session (`SyncReplWatch`), Active Directory's uSNChanged polling (`USNWatch`) or DirSync
/// (`DirSyncWatch`). What it hears goes to `FeedEvents`.
public final class DirectoryFeed: Sendable {
    public enum Mode: Sendable, Equatable {
        /// syncrepl, else uSNChanged when the server is Active Directory, else nothing (full runs only).
        case auto
        /// syncrepl; a server without it is an error, retried.
        case syncrepl
        case usn, dirsync
    }

    let settings: DirectorySettings
    let mode: Mode
    /// How often the polling watches look (`usn_poll_interval`).
    let interval: Duration
    let events: any FeedEvents
    private let stopped = Mutex(false)
    private let done = DispatchSemaphore(value: 0)
    private let started = Mutex(false)

    public init(settings: DirectorySettings, mode: Mode, interval: Duration, events: any FeedEvents) {
        self.settings = settings
        self.mode = mode
        self.interval = interval
        self.events = events
    }

    public var isStopped: Bool { stopped.withLock { $0 } }

    public func start() {
        started.withLock { $0 = true }
        let thread = Thread { [self] in
            listen()
            done.signal()
        }
        thread.name = "mixer-sync.change-feed"
        thread.start()
    }

    /// Asks the thread to end; it notices within its poll timeout (1 s) or its pause step (0.1 s).
    public func stop() { stopped.withLock { $0 = true } }

    /// Waits (off the cooperative pool) until the thread has ended, or `seconds` have passed.
    public func waitForExit(seconds: Double) async {
        guard started.withLock({ $0 }) else { return }
        let done = self.done
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                if done.wait(timeout: .now() + seconds) == .success { done.signal() }
                k.resume()
            }
        }
    }

    /// The one loop: connect and listen until the watch ends (stopped, switched, off) or its connection is lost.
    private func listen() {
        var watch: any FeedWatch = switch mode {
        case .auto: SyncReplWatch(required: false)
        case .syncrepl: SyncReplWatch(required: true)
        case .usn: USNWatch()
        case .dirsync: DirSyncWatch()
        }
        var backoff = 0.5
        while !isStopped {
            do {
                switch try watch.watch(self, connected: { backoff = 0.5 }) {
                case .stopped, .off: return
                case .again: continue
                case .switchTo(let next): watch = next
                }
            } catch {
                events.connected(false)
                if isStopped { return }
                events.note(.warning, "change feed lost; reconnecting",
                            ["feed.kind": watch.name, "feed.error": "\(error)", "feed.retry_in_s": "\(backoff)"])
                pause(seconds: backoff)
                backoff = min(backoff * 2, 30)
            }
        }
    }

    /// A connection with the configured settings (the bind password read now, from its file).
    func connect() throws -> LDAPConnection {
        try LDAPConnection(try DirectoryReader.connectionOptions(settings, passwordFile: settings.bindPasswordFile))
    }

    /// Sleeps `seconds` on the feed's thread, in steps of at most 0.1 s so that `stop()` is noticed.
    func pause(seconds: Double) {
        var left = seconds
        while left > 0 && !isStopped {
            Thread.sleep(forTimeInterval: min(0.1, left))
            left -= 0.1
        }
    }

    /// Whether the server's rootDSE has `highestCommittedUSN` (Active Directory, Samba AD).
    func isActiveDirectory() -> Bool {
        guard let connection = try? connect() else { return false }
        return (try? USNWatch.rootUSN(connection, timeout: settings.timeout)) != nil
    }

    /// A server's answer (not a lost connection, not "busy", not the credentials) to a sync request with a cookie.
    static func refusesCookie(_ error: LDAPError) -> Bool {
        error.code.rawValue > 0 && error.code != .busy && error.code != .unavailable && error.kind != .credentials
    }
}

/// One way of hearing the directory's changes over one connection.
protocol FeedWatch: Sendable {
    /// For the log: "syncrepl", "uSNChanged", "DirSync".
    var name: String { get }
    /// Connects and listens until the feed stops or the connection is lost (throws). `connected` is called once
    /// the session is up (the loop's back-off starts again from its shortest).
    func watch(_ feed: DirectoryFeed, connected: () -> Void) throws -> FeedNext
}

enum FeedNext: Sendable {
    /// The feed was stopped.
    case stopped
    /// Connect again now (a refused cookie was dropped).
    case again
    /// The server offers another way (no syncrepl on Active Directory: uSNChanged).
    case switchTo(any FeedWatch)
    /// The server offers no way at all: full runs only.
    case off
}

extension Duration {
    /// The duration in seconds, fractions included (the polling feeds' intervals).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
