import Foundation
import LDAPClient

/// RFC 4533 refreshAndPersist (OpenLDAP's syncprov, 389ds): the session is resumed from its saved cookie after a
/// restart or a lost connection; every change it hears of — and every (re)connection, which may follow an
/// outage — is reported.
struct SyncReplWatch: FeedWatch {
    /// `change_feed = "syncrepl"`: a server without it is an error, retried; otherwise (`auto`) Active Directory
    /// is polled instead and anything else stays on full runs.
    let required: Bool
    var name: String { "syncrepl" }

    func watch(_ feed: DirectoryFeed, connected: () -> Void) throws -> FeedNext {
        let (base, filter) = feed.settings.feedScope
        let scope = base + "\n" + filter
        let events = feed.events
        let options = try DirectoryReader.connectionOptions(feed.settings, passwordFile: feed.settings.bindPasswordFile)
        let session = try SyncReplSession(options)
        let cookie = try events.cookie(scope: scope)
        var received: SyncReplSession.Events
        do {
            received = try session.start(base: base, filter: filter, cookie: cookie, pollSeconds: 1)
        } catch let error as LDAPError where cookie != nil && DirectoryFeed.refusesCookie(error) {
            // The server will not resume from this cookie (restored from a backup, or its state was lost: OpenLDAP
            // says "consumer state is newer than provider"). Start afresh; the pass that follows every
            // (re)connection reads the whole directory anyway.
            try events.saveCookie(nil, scope: scope)
            events.note(.notice, "change feed: the server cannot resume from the saved cookie; starting afresh",
                        ["feed.error": "\(error)"])
            return .again
        } catch let error as LDAPError where !required && error.operation == .search && error.code.rawValue > 0
                    && (error.code == .unavailableCriticalExtension || feed.isActiveDirectory()) {
            // The server refused the sync request (OpenLDAP without syncprov: unavailableCriticalExtension; Samba AD:
            // "other"). Active Directory is polled instead; anything else stays on full runs.
            events.connected(false)
            if feed.isActiveDirectory() {
                events.note(.notice, "change feed: no syncrepl; Active Directory: polling uSNChanged instead",
                            ["feed.error": "\(error)"])
                return .switchTo(USNWatch())
            }
            events.note(.notice, "change feed: the directory does not offer syncrepl (RFC 4533); full runs only",
                        ["feed.error": "\(error)"])
            return .off
        }
        if received.refreshRequired {
            try events.saveCookie(nil, scope: scope)
            events.note(.notice, "change feed: the server asked for a full refresh; the cookie is dropped", [:])
            return .again
        }
        try events.saveCookie(session.cookie, scope: scope)
        events.connected(true)
        connected()
        events.note(.notice, "change feed connected", [
            "feed.server": "\(session.url)", "feed.base": "\(base)", "feed.resumed": "\(cookie != nil)",
            "feed.refresh_changes": "\(received.changed.count)", "feed.refresh_present": "\(received.present)"])
        // Whatever happened while no session was open is caught by one pass now (no "seen" time: what it finds was
        // not heard of as it happened).
        events.changed(received.changed.count, at: nil)
        var lastCookie = session.cookie
        while !feed.isStopped {
            received = try session.poll()
            let now = Date()
            if !received.changed.isEmpty || received.idSetEntries > 0 {
                events.changed(max(received.changed.count, 1), at: now)
            }
            if let c = session.cookie, c != lastCookie {
                try events.saveCookie(c, scope: scope)
                lastCookie = c
            }
            if received.refreshRequired { try events.saveCookie(nil, scope: scope) }
            if received.ended {
                throw LDAPError(code: .unavailable, operation: .search, message: "the server ended the sync session")
            }
        }
        events.connected(false)
        return .stopped
    }
}
