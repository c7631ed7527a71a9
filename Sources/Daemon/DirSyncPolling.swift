import Directory
import Foundation
import LDAPClient
import Metrics
import State

/// Active Directory's DirSync as the fast path (`change_feed = "dirsync"`): every `usn_poll_interval`, one DirSync
/// search from the naming context's root asks for the objects changed since the saved cookie (object security:
/// the bind account needs read rights only). Unlike uSNChanged polling it sees deletions (`isDeleted`) when the
/// account may read the Deleted Objects container, and it survives a change of DC (the cookie carries the
/// up-to-dateness vector). A cookie the server refuses is dropped and a full run asked for.
extension FeedListener {
    /// What DirSync compares: an object is returned when one of these changed.
    var dirSyncAttributes: [String] {
        let a = settings.attributes
        var names = [a.email, a.givenName, a.surname, a.fullName, a.jobTitle, a.company, a.department, a.uid,
                     "userAccountControl", "accountExpires", "isDeleted", "member"]
        names.removeAll { $0.isEmpty }
        var seen = Set<String>()
        return names.filter { seen.insert($0.lowercased()).inserted }
    }

    func pollDirSync(interval: Duration) {
        let scopes = settings.usnScopes
        let filter = settings.feedScope.filter
        let connected = Gauge(label: "mixer_sync_change_feed_connected")
        var backoff = 0.5
        let seconds = interval.inSeconds
        let attributes = dirSyncAttributes
        while !isStopped {
            do {
                let store = try StateStore.open(directory: stateDirectory)
                let options = try DirectoryReader.connectionOptions(settings, passwordFile: settings.bindPasswordFile)
                let connection = try LDAPConnection(options)
                guard let root = try connection.rootDSE(["defaultNamingContext"])["defaultNamingContext"] else {
                    throw LDAPError(code: .other, operation: .search, message: "the rootDSE has no defaultNamingContext (not Active Directory?)")
                }
                let key = "dirsync\n\(root)\n\(filter)"
                var cookie = try store.feedCookie(scope: key)
                let resumed = cookie != nil
                do {
                    cookie = try connection.dirSync(base: root, filter: filter, attributes: attributes, cookie: cookie,
                                                    deadline: .now + settings.readDeadline).cookie
                } catch let error as LDAPError where resumed && Self.refusesCookie(error) {
                    try store.saveFeedCookie(nil, scope: key, at: Date())
                    logger.notice("change feed: DirSync refused the saved cookie; starting afresh with a full run",
                                  metadata: ["feed.error": "\(error)"])
                    inbox.post(events: 0, at: nil, fullRun: true)
                    continue
                }
                try store.saveFeedCookie(cookie, scope: key, at: Date())
                connected.record(1)
                backoff = 0.5
                logger.notice("change feed: polling DirSync", metadata: [
                    "feed.server": "\(connection.url)", "feed.base": "\(root)", "feed.resumed": "\(resumed)",
                    "feed.interval_ms": "\(Int(seconds * 1000))"])
                // What happened before (or while no session was open) is caught by one pass now.
                inbox.post(events: 0, at: nil)
                while !isStopped {
                    pause(seconds: seconds)
                    if isStopped { break }
                    let page = try connection.dirSync(base: root, filter: filter, attributes: attributes,
                                                      cookie: cookie, deadline: .now + settings.readDeadline)
                    let relevant = page.changed.filter { Self.concerns($0, scopes: scopes) }.count
                    if relevant > 0 {
                        Counter(label: "mixer_sync_change_feed_events_total").increment(by: relevant)
                        inbox.post(events: relevant, at: Date())
                    }
                    if page.cookie != cookie {
                        try store.saveFeedCookie(page.cookie, scope: key, at: Date())
                        cookie = page.cookie
                    }
                }
            } catch {
                if !lost("DirSync", error: error, backoff: &backoff) { return }
            }
        }
    }

    /// Whether a DN DirSync returned can matter: under one of the configured bases, or a deleted object (its DN is
    /// in the Deleted Objects container and carries `\0ADEL:`).
    static func concerns(_ dn: String, scopes: [(base: String, filter: String)]) -> Bool {
        if dn.range(of: "\\0ADEL:", options: .caseInsensitive) != nil { return true }
        guard let parsed = DistinguishedName(dn) else { return true }
        return scopes.contains { scope in
            DistinguishedName(scope.base).map { parsed.isWithin($0) } ?? true
        }
    }
}
