import Foundation
import LDAPClient
import Testing

/// The RFC 4533 session against the test slapd's syncprov overlay (checkpoint + session log): the refresh, a
/// change pushed in the persist phase, and a second session that resumes from the first one's cookie.
@Suite struct SyncReplTests {
    static func options() throws -> ConnectionOptions {
        let password = try String(contentsOfFile: try TestDirectory.passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        return ConnectionOptions(urls: [try TestDirectory.ldapURL],
                                 bind: .simple(dn: TestDirectory.serviceDN, password: LDAPPassword(Array(password.utf8))),
                                 operationTimeout: .seconds(10))
    }

    /// Runs blocking libldap work on a thread of its own (never on the cooperative pool).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { k in
            Thread.detachNewThread { k.resume(with: Result { try body() }) }
        }
    }

    @Test func refreshThenAPushedModifyThenAResumeFromTheCookie() async throws {
        let world = try World(people: [.init("sra"), .init("srb")], groups: ["staff": ["sra", "srb"]])
        let options = try Self.options()
        let base = world.base
        // 1. Refresh without a cookie: every entry of the subtree comes as a change (1 + 3 OUs, 2 people, 4 groups).
        let (refresh, pushed, cookie) = try await Self.onThread { () throws -> (SyncReplSession.Events, SyncReplSession.Events, [UInt8]) in
            let session = try SyncReplSession(options)
            let refresh = try session.start(base: base, filter: "(objectClass=*)", cookie: nil, pollSeconds: 1)
            // 2. Persist: a modify made now is pushed to the open search.
            try world.ldap("dn: \(world.dn("sra"))\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated")
            var pushed = SyncReplSession.Events()
            for _ in 0..<30 where pushed.changed.isEmpty {
                let e = try session.poll()
                pushed.changed += e.changed
            }
            return (refresh, pushed, try #require(session.cookie))
        }
        #expect(refresh.refreshDone)
        #expect(refresh.changed.count == 10)
        #expect(pushed.changed.count == 1)
        #expect((pushed.changed.first ?? "").count == 36, "an entryUUID in text form: \(pushed.changed)")
        #expect(refresh.changed.contains(pushed.changed.first ?? "-"))

        // 3. Resume: only what changed while no session was open comes back.
        try world.ldap("dn: \(world.dn("srb"))\nchangetype: modify\nreplace: title\ntitle: Moved on")
        let resumed = try await Self.onThread {
            let session = try SyncReplSession(options)
            return try session.start(base: base, filter: "(objectClass=*)", cookie: cookie, pollSeconds: 1)
        }
        #expect(resumed.refreshDone)
        // At least once (RFC 4533): what changed around the cookie may come again — but not the whole subtree.
        #expect((1..<refresh.changed.count).contains(resumed.changed.count), "resumed from the cookie: \(resumed)")
        #expect(!resumed.refreshRequired)
    }

    @Test func aServerWithoutSyncprovRefusesTheSession() async throws {
        // The cn=config database has no syncprov: the critical sync control is refused, not ignored.
        let options = try Self.options()
        let error = await #expect(throws: LDAPError.self) {
            try await Self.onThread {
                let session = try SyncReplSession(options)
                return try session.start(base: "cn=config", filter: "(objectClass=*)", cookie: nil, pollSeconds: 1)
            }
        }
        #expect(error != nil)
    }
}
