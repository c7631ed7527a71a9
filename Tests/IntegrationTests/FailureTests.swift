import Directory
import Foundation
import LDAPClient
import Reconcile
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every way a read can go wrong ends in an error, never in "fewer people".
@Suite struct FailureTests {
    @Test func aSizeLimitBelowTheUserCountIsAnIncompleteRead() async throws {
        let settings = try TestDirectory.settings(bindDN: TestDirectory.limitedDN,
                                                  passwordFile: TestDirectory.dir + "/limited-password")
        let failure = try #require(await TestDirectory.failure(settings))
        #expect(failure.stage == .incomplete)
        #expect(failure.message.contains("sizeLimitExceeded"))
        #expect(failure.message.contains("search staff"))
    }

    @Test func aMissingBaseIsAnError() async throws {
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(usersBase: "ou=renamed,dc=example,dc=com")))
        #expect(failure.stage == .failed)
        #expect(failure.message.contains("noSuchObject"))
        #expect(failure.message.contains("ou=renamed,dc=example,dc=com"))
    }

    @Test func aWrongPasswordIsAClearError() async throws {
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(passwordFile: TestDirectory.dir + "/wrong-password")))
        #expect(failure.stage == .failed)
        #expect(failure.message.contains("invalidCredentials") || failure.message.contains("Invalid credentials"))
        #expect(failure.message.contains("49)"))
        #expect(!failure.message.contains("not-the-password"))
    }

    @Test func aMissingPasswordFileIsAClearError() async throws {
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(passwordFile: TestDirectory.dir + "/no-such-file")))
        #expect(failure.stage == .failed)
        #expect(failure.message.contains("no-such-file"))
    }

    @Test func aWrongCAIsRefusedWithoutPlaintextFallback() async throws {
        let startTLS = try #require(await TestDirectory.failure(
            try TestDirectory.settings(startTLS: true, caFile: TestDirectory.wrongCA)))
        #expect(startTLS.stage == .failed)
        #expect(startTLS.message.contains("start-tls"))
        let ldaps = try #require(await TestDirectory.failure(
            try TestDirectory.settings(url: TestDirectory.ldapsURL, caFile: TestDirectory.wrongCA)))
        #expect(ldaps.stage == .failed)
    }

    @Test func aServerThatNeverAnswersTimesOutWithinTheBound() async throws {
        let listener = try BlackHole()
        defer { listener.close() }
        let started = ContinuousClock.now
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(url: "ldap://127.0.0.1:\(listener.port)", timeout: .seconds(1))))
        let elapsed = ContinuousClock.now - started
        #expect(failure.stage == .failed)
        // Bounded, not timed: a hang would last minutes (TCP) or forever. The margin over the 1 s timeout absorbs
        // the CPU the end-to-end tests (two-daemon HA runs and PostgreSQL among them) take from a 2-core machine
        // while this runs: 11 s was seen once under that load.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
        #expect(failure.message.contains("timeout") || failure.message.contains("Timed out") || failure.message.contains("(-5)"),
                "\(failure.message)")
    }

    @Test func nobodyListeningIsAnError() async throws {
        let listener = try BlackHole()
        let port = listener.port
        listener.close()
        let failure = try #require(await TestDirectory.failure(try TestDirectory.settings(url: "ldap://127.0.0.1:\(port)")))
        #expect(failure.stage == .failed)
        #expect(failure.message.contains("serverDown, -1)"))
    }
}

/// slapd dies in the middle of a read. One victim instance, so these run one at a time.
@Suite(.serialized) struct KilledServerTests {
    @Test func slapdKilledMidReadFailsTheSearch() async throws {
        let victim = try await Slapd.startVictim()
        defer { victim.stop() }
        let options = ConnectionOptions(urls: [victim.url], bind: .simple(
            dn: TestDirectory.serviceDN, password: LDAPPassword(Array("mixer-sync-test-password".utf8))),
            operationTimeout: .seconds(5))
        let pid = victim.pid
        let outcome: (entries: Int, error: LDAPError?) = try await LDAPWorker().run {
            let connection = try LDAPConnection(options)
            var entries = 0
            do {
                _ = try connection.search(SearchRequest(base: TestDirectory.people, scope: .sub,
                                                        filter: "(objectClass=inetOrgPerson)", attributes: [AttributeRequest("mail")]),
                                          pageSize: 100, deadline: .now + .seconds(20)) { _ in
                    entries += 1
                    if entries == 250 { kill(pid, SIGKILL) }
                }
                return (entries, nil)
            } catch let error as LDAPError {
                return (entries, error)
            }
        }
        let error = try #require(outcome.error, "the search returned \(outcome.entries) entries as if complete")
        #expect(error.code == .serverDown)
        #expect(error.kind == .transient)
        #expect(outcome.entries >= 250)
        #expect(outcome.entries < (try TestDirectory.users))
    }

    @Test func slapdKilledDuringASnapshotFailsTheSnapshot() async throws {
        let victim = try await Slapd.startVictim()
        defer { victim.stop() }
        let settings = try TestDirectory.settings(url: victim.url, pageSize: 2)
        let pid = victim.pid
        // The kill is timed on a dispatch queue, not a Task: with the cooperative pool busy (other suites run
        // beside this one) a Task could wake only after the 1,250-page read had finished.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.15) { kill(pid, SIGKILL) }
        let failure = try #require(await TestDirectory.failure(settings))
        #expect(failure.message.contains("serverDown") || failure.message.contains("(-1)"), "\(failure.message)")
    }
}

/// A TCP listener that accepts connections (the kernel does, through the backlog) and never answers.
final class BlackHole: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

/// The victim slapd instance prepared (not started) by scripts/test; each test starts its own copy's process.
struct Slapd {
    let pid: pid_t
    let url: String
    let directory: String

    static func startVictim() async throws -> Slapd {
        try await start(directory: try TestDirectory.env("MIXER_SYNC_TEST_VICTIM"))
    }

    /// Starts the instance in `directory` on `url` (a free loopback port when nil) and waits until it binds.
    static func start(directory: String, url: String? = nil) async throws -> Slapd {
        let binary = try TestDirectory.env("MIXER_SYNC_TEST_SLAPD")
        let url = try url ?? {
            let holder = try BlackHole()
            defer { holder.close() }
            return "ldap://127.0.0.1:\(holder.port)"
        }()
        try spawnAndWait(binary, ["-F", directory + "/slapd.d", "-h", url + "/", "-s", "0"])
        let pidFile = directory + "/slapd.pid"
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
               let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                // A real bind: an anonymous LDAPConnection does not touch the network at all.
                let probe = ConnectionOptions(urls: [url], bind: .simple(
                    dn: TestDirectory.serviceDN, password: LDAPPassword(Array("mixer-sync-test-password".utf8))),
                    operationTimeout: .seconds(1))
                let up: Bool = (try? await LDAPWorker().run { _ = try LDAPConnection(probe); return true }) ?? false
                if up { return Slapd(pid: pid, url: url, directory: directory) }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw MissingTestServer(variable: "victim slapd did not start in \(directory)")
    }

    /// Runs slapd, which forks into the background; waits for the foreground parent only.
    static func spawnAndWait(_ binary: String, _ arguments: [String]) throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let rc = posix_spawn(&pid, binary, nil, nil, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        for _ in 0..<50 where kill(pid, 0) == 0 {
            _ = waitpid(pid, &status, WNOHANG)
            usleep(20_000)
        }
        try? FileManager.default.removeItem(atPath: directory + "/slapd.pid")
    }
}

/// Referrals are never chased: a referral, or a continuation reference inside the searched subtree, makes the
/// read incomplete.
@Suite struct ReferralTests {
    @Test func aContinuationReferenceInTheSubtreeIsAnIncompleteRead() async throws {
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(usersBase: "ou=partners,dc=example,dc=com")))
        #expect(failure.stage == .incomplete)
        #expect(failure.message.contains("continuationReference"), "\(failure.message)")
    }

    @Test func aReferralAsTheBaseIsAnIncompleteRead() async throws {
        let failure = try #require(await TestDirectory.failure(
            try TestDirectory.settings(usersBase: "ou=remote,ou=partners,dc=example,dc=com")))
        #expect(failure.stage == .incomplete)
        #expect(failure.message.contains("referral"), "\(failure.message)")
    }
}
