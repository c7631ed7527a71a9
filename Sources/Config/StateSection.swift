import Foundation
import State

/// `[state]` and `[ha]`: where the state lives — SQLite under `directory` (one host, the default) or PostgreSQL
/// (`backend = "postgresql"`, two hosts, one leader under a lease: docs/high-availability.md). The lock file, the
/// reports and the MixerAI cookie jar stay under `directory` either way.
public struct StateSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case sqlite
        case postgresql
    }

    public var directory: String
    public var backend: Backend = .sqlite
    /// `url` (its TLS rules checked at load), `password_file` resolved; nil for SQLite.
    public var postgres: PostgresTarget?
    /// `[ha] lease`: the leader's lease (PostgreSQL only; default 10 s).
    public var lease: Duration = .seconds(10)

    public init(directory: String) { self.directory = directory }
}

/// The PostgreSQL state as configured: everything but the password, which is read from its file when the state
/// is opened (never kept in the configuration's values, never logged).
public struct PostgresTarget: Sendable, Equatable {
    public var url: String
    public var passwordFile: String?
    public var caFile: String?
    public var timeout: Duration

    /// The settings to open it with, the password read from `password_file` now.
    public func settings() throws -> PostgresSettings {
        let password = try passwordFile.map { path -> String in
            do {
                return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw StateError("state.password_file \(path): cannot be read")
            }
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        return try PostgresSettings(url: url, password: password, caFile: caFile, timeout: seconds)
    }
}

enum StateSection {
    static func parse(_ t: TableReader?, ha: TableReader?, secrets: SecretPaths) throws -> StateSettings {
        var s = StateSettings(directory: try t?.string("directory") ?? "/var/lib/mixer-sync")
        if let t {
            try t.refuseInline("password", use: "password_file")
            s.backend = try t.oneOf("backend", StateSettings.Backend.allCases.map { ($0.rawValue, $0) }) ?? .sqlite
            switch s.backend {
            case .sqlite:
                for key in ["url", "password_file", "ca_file", "timeout"] where t.has(key) {
                    throw t.error(key, "only for backend = \"postgresql\"")
                }
            case .postgresql:
                let url = try t.requiredString("url")
                do { _ = try PostgresSettings(url: url, password: nil) } catch { throw t.error("url", "\(error)") }
                let timeout = try t.duration("timeout") ?? .seconds(10)
                guard timeout >= .seconds(1) else { throw t.error("timeout", "must be at least 1s") }
                s.postgres = PostgresTarget(url: url, passwordFile: try t.string("password_file").map(secrets.resolve),
                                            caFile: try t.string("ca_file").map(secrets.resolve), timeout: timeout)
            }
            try t.finish()
        }
        if let ha {
            guard s.backend == .postgresql else {
                throw ha.error("lease", "[ha] needs [state] backend = \"postgresql\": two hosts share one PostgreSQL state")
            }
            let lease = try ha.duration("lease") ?? .seconds(10)
            guard lease >= .seconds(3), lease <= .seconds(300) else { throw ha.error("lease", "must be between 3s and 300s") }
            s.lease = lease
            try ha.finish()
        }
        return s
    }
}

extension MixerSyncConfig {
    /// The state this configuration names, opened once per process: SQLite under `[state] directory`, or the
    /// PostgreSQL of `[state] url` (its tables created or upgraded on the way).
    public func openState() throws -> StateStore {
        switch state.backend {
        case .sqlite: return try StateStore.open(directory: state.directory)
        case .postgresql:
            guard let target = state.postgres else { throw StateError("\(file): [state] backend = \"postgresql\" needs url") }
            return try StateStore.open(postgres: try postgresSettings(target))
        }
    }

    /// The PostgreSQL settings with the lease's limits (docs/high-availability.md): a session idle inside a
    /// transaction for a quarter of the lease is ended by the server (a paused process never holds a lock the
    /// takeover needs), and a statement waits at most 30 % of the lease for a lock.
    public func postgresSettings(_ target: PostgresTarget) throws -> PostgresSettings {
        var settings = try target.settings()
        let lease = Double(state.lease.components.seconds) + Double(state.lease.components.attoseconds) / 1e18
        settings.idleInTransactionTimeout = max(0.5, lease * 0.25)
        settings.lockTimeout = lease * 0.3
        return settings
    }
}
