import Foundation
import LDAPClient

/// Active Directory's DirSync (`change_feed = "dirsync"`): every `usn_poll_interval`, one DirSync search from the
/// naming context's root asks for the objects changed since the saved cookie (object security: the bind account
/// needs read rights only). Unlike uSNChanged polling it sees deletions (`isDeleted`) when the account may read
/// the Deleted Objects container, and it survives a change of DC (the cookie carries the up-to-dateness vector).
/// A cookie the server refuses is dropped and a full run asked for.
public struct DirSyncWatch: FeedWatch {
    public var name: String { "DirSync" }

    func watch(_ feed: DirectoryFeed, connected: () -> Void) throws -> FeedNext {
        let settings = feed.settings
        let events = feed.events
        let scopes = settings.usnScopes
        let filter = settings.feedScope.filter
        let seconds = feed.interval.inSeconds
        let attributes = Self.attributes(settings.attributes)
        let connection = try feed.connect()
        guard let root = try connection.rootDSE(["defaultNamingContext"])["defaultNamingContext"] else {
            throw LDAPError(code: .other, operation: .search, message: "the rootDSE has no defaultNamingContext (not Active Directory?)")
        }
        let key = "dirsync\n\(root)\n\(filter)"
        var cookie = try events.cookie(scope: key)
        let resumed = cookie != nil
        do {
            cookie = try connection.dirSync(base: root, filter: filter, attributes: attributes, cookie: cookie,
                                            deadline: .now + settings.readDeadline).cookie
        } catch let error as LDAPError where resumed && DirectoryFeed.refusesCookie(error) {
            try events.saveCookie(nil, scope: key)
            events.note(.notice, "change feed: DirSync refused the saved cookie; starting afresh with a full run",
                        ["feed.error": "\(error)"])
            events.changed(0, at: nil, fullRun: true)
            return .again
        }
        try events.saveCookie(cookie, scope: key)
        events.connected(true)
        connected()
        events.note(.notice, "change feed: polling DirSync", [
            "feed.server": "\(connection.url)", "feed.base": "\(root)", "feed.resumed": "\(resumed)",
            "feed.interval_ms": "\(Int(seconds * 1000))"])
        // What happened before (or while no session was open) is caught by one pass now.
        events.changed(0, at: nil)
        while !feed.isStopped {
            feed.pause(seconds: seconds)
            if feed.isStopped { break }
            let page = try connection.dirSync(base: root, filter: filter, attributes: attributes, cookie: cookie,
                                              deadline: .now + settings.readDeadline)
            let relevant = page.changed.filter { Self.concerns($0, scopes: scopes) }.count
            if relevant > 0 { events.changed(relevant, at: Date()) }
            if page.cookie != cookie {
                try events.saveCookie(page.cookie, scope: key)
                cookie = page.cookie
            }
        }
        return .stopped
    }

    /// What DirSync compares: an object is returned when one of these changed.
    static func attributes(_ a: AttributeMap) -> [String] {
        var names = [a.email, a.givenName, a.surname, a.fullName, a.jobTitle, a.company, a.department, a.uid,
                     "userAccountControl", "accountExpires", "isDeleted", "member"]
        names.removeAll { $0.isEmpty }
        var seen = Set<String>()
        return names.filter { seen.insert($0.lowercased()).inserted }
    }

    /// Whether a DN DirSync returned can matter: under one of the configured bases, or a deleted object (its DN is
    /// in the Deleted Objects container and carries `\0ADEL:`).
    public static func concerns(_ dn: String, scopes: [(base: String, filter: String)]) -> Bool {
        if dn.range(of: "\\0ADEL:", options: .caseInsensitive) != nil { return true }
        guard let parsed = DistinguishedName(dn) else { return true }
        return scopes.contains { scope in
            DistinguishedName(scope.base).map { parsed.isWithin($0) } ?? true
        }
    }
}
