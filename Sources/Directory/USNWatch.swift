import Foundation
import LDAPClient

/// Active Directory has no syncrepl: its fast path polls one pinned domain controller's `highestCommittedUSN`
/// (rootDSE) every `usn_poll_interval`. When it moves, one cheap search asks whether any entry of the feed's scope
/// changed since (`uSNChanged` ≥ the last USN seen + 1, attributes 1.1); if one did, a change is reported. If the
/// DC answering is another one (`dsServiceName`) or its USN went backwards (a restore), USNs no longer compare: a
/// full run is asked for, and polling starts again from the new figures. Deletions and moves out of scope leave
/// nothing to find under the bases: the full run is their backstop.
struct USNWatch: FeedWatch {
    var name: String { "uSNChanged" }

    func watch(_ feed: DirectoryFeed, connected: () -> Void) throws -> FeedNext {
        let settings = feed.settings
        let events = feed.events
        let scopes = settings.usnScopes
        let seconds = feed.interval.inSeconds
        let connection = try feed.connect()
        events.connected(true)
        connected()
        events.note(.notice, "change feed: polling uSNChanged", [
            "feed.server": "\(connection.url)", "feed.base": scopes.map(\.base).joined(separator: " | "),
            "feed.interval_ms": "\(Int(seconds * 1000))"])
        var last: (usn: Int64, server: String)?
        while !feed.isStopped {
            let now = try Self.rootUSN(connection, timeout: settings.timeout)
            if let previous = last {
                if now.server != previous.server || now.usn < previous.usn {
                    events.note(.warning, "change feed: another DC or its USN went backwards; a full run", [
                        "feed.server": "\(now.server)", "feed.usn": "\(now.usn)", "feed.previous_usn": "\(previous.usn)"])
                    events.changed(0, at: nil, fullRun: true)
                } else if now.usn > previous.usn {
                    let changed = try Self.changedSince(previous.usn + 1, connection: connection, scopes: scopes,
                                                        timeout: settings.timeout)
                    if changed > 0 { events.changed(changed, at: Date()) }
                }
            } else {
                events.changed(0, at: nil)  // the first figures: one pass catches what came before
            }
            last = now
            feed.pause(seconds: seconds)
        }
        return .stopped
    }

    /// rootDSE's `highestCommittedUSN` and `dsServiceName` (which DC answers).
    static func rootUSN(_ connection: LDAPConnection, timeout: Duration) throws -> (usn: Int64, server: String) {
        let root = try connection.rootDSE(["highestCommittedUSN", "dsServiceName"])
        guard let usn = root["highestCommittedUSN"].flatMap({ Int64($0) }) else {
            throw LDAPError(code: .other, operation: .search, message: "the rootDSE has no highestCommittedUSN (not Active Directory?)")
        }
        return (usn, root["dsServiceName"] ?? "")
    }

    /// How many entries read by the configured searches changed at or after `usn` (each base on its own: AD's
    /// domain root would answer with continuation references).
    static func changedSince(_ usn: Int64, connection: LDAPConnection, scopes: [(base: String, filter: String)],
                             timeout: Duration) throws -> Int {
        var count = 0
        for scope in scopes {
            let request = SearchRequest(base: scope.base, scope: .sub, filter: "(&(uSNChanged>=\(usn))\(scope.filter))",
                                        attributes: [AttributeRequest("1.1")])
            _ = try connection.search(request, pageSize: 1000, deadline: .now + timeout) { _ in count += 1 }
        }
        return count
    }
}
