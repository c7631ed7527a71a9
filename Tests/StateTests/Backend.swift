import Foundation
import Logging
import NIOPosix
import PostgresNIO
import State
import Testing

/// The two state backends the same tests run against: SQLite in a fresh directory, and a fresh database on the
/// throwaway PostgreSQL that scripts/test starts (`MIXER_SYNC_TEST_POSTGRES_URL`; without it the test fails, never
/// skips).
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }

    /// A new, empty state and a way to open it again as another process (or host) would.
    func fresh() throws -> (store: StateStore, reopen: @Sendable () throws -> StateStore) {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
            return (try StateStore(directory: dir), { try StateStore(directory: dir) })
        case .postgresql:
            let settings = try Self.freshDatabase()
            return (try StateStore(postgres: settings), { try StateStore(postgres: settings) })
        }
    }

    /// The test server's settings with a database of its own, created for the caller.
    static func freshDatabase() throws -> PostgresSettings {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["MIXER_SYNC_TEST_POSTGRES_URL"], let passwordFile = env["MIXER_SYNC_TEST_POSTGRES_PASSWORD_FILE"] else {
            throw StateError("MIXER_SYNC_TEST_POSTGRES_URL is not set: run the tests through scripts/test, which starts PostgreSQL")
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = try PostgresSettings(url: url, password: password)
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let logger = Logger(label: "state-tests", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: .init(host: admin.host, port: admin.port, username: admin.user, password: password,
                                 database: admin.database, tls: .disable),
            id: 1, logger: logger).wait()
        defer { _ = try? connection.close().wait() }
        _ = try connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger).wait()
        var settings = admin
        settings.database = name
        return settings
    }
}
