import Foundation

/// What a directory change feed tells the program that runs it (the daemon: its inbox, metrics, log and the
/// cookies kept in its state). Called on the feed's own thread.
public protocol FeedEvents: Sendable {
    /// Entries changed. `count` 0 with `at` nil: a (re)connection, after which one pass catches whatever happened
    /// while no session was open. `fullRun`: the feed lost track of what changed (another DC, a refused cookie).
    func changed(_ count: Int, at: Date?, fullRun: Bool)
    /// The session is up (true) or lost (false).
    func connected(_ up: Bool)
    /// The saved resume cookie of a feed scope, and saving a new one (nil drops it).
    func cookie(scope: String) throws -> [UInt8]?
    func saveCookie(_ cookie: [UInt8]?, scope: String) throws
    /// Something an operator should read in the log; `metadata` never holds secrets.
    func note(_ level: FeedNoteLevel, _ message: String, _ metadata: [String: String])
}

public enum FeedNoteLevel: Sendable { case notice, warning }

extension FeedEvents {
    func changed(_ count: Int, at: Date?) { changed(count, at: at, fullRun: false) }
}
