import Config
import Directory
import Foundation
import Reconcile

/// Where a run's people come from (docs/layout.md, "Seams"): a complete snapshot, or an error — a
/// `SnapshotFailure` says whether the read failed outright or stopped part way (which holds the plan).
public protocol DirectorySource: Sendable {
    func read(roleGroups: [String], now: Date) async throws -> DirectorySnapshot
}

/// The LDAP directory of the configuration, read by `DirectoryReader` (libldap).
public struct LDAPDirectorySource: DirectorySource {
    let settings: DirectorySettings

    public init(_ settings: DirectorySettings) { self.settings = settings }

    public func read(roleGroups: [String], now: Date) async throws -> DirectorySnapshot {
        try await DirectoryReader(settings: settings, passwordFile: settings.bindPasswordFile).read(roleGroups: roleGroups, now: now)
    }
}
