import Directory
import Foundation
import LDAPClient
import Reconcile
import Testing

/// The throwaway slapd that `scripts/test` starts, described by `MIXER_SYNC_TEST_*` variables.
/// A test that needs it and cannot find it fails: it never skips.
struct MissingTestServer: Error, CustomStringConvertible {
    var variable: String
    var description: String {
        "\(variable) is not set: run the tests through scripts/test, which starts the test slapd"
    }
}

enum TestDirectory {
    static let suffix = "dc=example,dc=com"
    static let people = "ou=people,dc=example,dc=com"
    static let groups = "ou=groups,dc=example,dc=com"
    static let leavers = "ou=leavers,dc=example,dc=com"
    static let serviceDN = "cn=mixer-sync,ou=services,dc=example,dc=com"
    static let limitedDN = "cn=limited,ou=services,dc=example,dc=com"
    /// Special entries under ou=people besides the generated users (see scripts/lib/gen-directory.py).
    static let specialPeople = 10
    static let leaverEntries = 3

    static func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingTestServer(variable: name)
        }
        return value
    }

    static var users: Int { get throws { Int(try env("MIXER_SYNC_TEST_USERS"))! } }
    static var dir: String { get throws { try env("MIXER_SYNC_TEST_DIR") } }
    static var ldapURL: String { get throws { try env("MIXER_SYNC_TEST_LDAP_URL") } }
    static var ldapsURL: String { get throws { try env("MIXER_SYNC_TEST_LDAPS_URL") } }
    static var ldapiURL: String { get throws { try env("MIXER_SYNC_TEST_LDAPI_URL") } }
    static var ca: String { get throws { try env("MIXER_SYNC_TEST_CA") } }
    static var wrongCA: String { get throws { try env("MIXER_SYNC_TEST_WRONG_CA") } }
    static var passwordFile: String { get throws { try dir + "/bind-password" } }

    /// Settings for the test directory as a deployment would write them.
    static func settings(url: String? = nil, startTLS: Bool = false, caFile: String? = nil,
                         bindDN: String = serviceDN, passwordFile: String? = nil, pageSize: Int = 1000,
                         timeout: Duration = .seconds(10), usersBase: String = people,
                         bindMethod: DirectorySettings.BindMethod = .simple) throws -> DirectorySettings {
        DirectorySettings(
            urls: [try url ?? ldapURL], startTLS: startTLS, tls: LDAPTLSOptions(caFile: caFile),
            bindMethod: bindMethod, bindDN: bindMethod == .simple ? bindDN : nil,
            bindPasswordFile: bindMethod == .simple ? try passwordFile ?? Self.passwordFile : nil,
            flavor: .openldap,
            users: [UserRule(name: "staff", base: usersBase, scope: .sub, filter: "(objectClass=inetOrgPerson)")],
            groups: GroupSettings(base: groups),
            leavers: LeaverSettings(disabledFilter: "(employeeType=terminated)", leaversBase: leavers, accountLock: true),
            pageSize: pageSize, timeout: timeout, readDeadline: .seconds(120))
    }

    static func read(_ settings: DirectorySettings) async throws -> DirectorySnapshot {
        try await DirectoryReader(settings: settings, passwordFile: settings.bindPasswordFile).read()
    }

    /// Reads and expects a failure; returns it.
    static func failure(_ settings: DirectorySettings, sourceLocation: SourceLocation = #_sourceLocation) async -> SnapshotFailure? {
        do {
            let snapshot = try await read(settings)
            Issue.record("expected the read to fail, got \(snapshot.people.count) people", sourceLocation: sourceLocation)
            return nil
        } catch let failure as SnapshotFailure {
            return failure
        } catch {
            Issue.record("expected a SnapshotFailure, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func uid(_ i: Int) -> String { String(format: "user%05d", i) }
    static func userDN(_ i: Int) -> String { "uid=\(uid(i)),\(people)" }
}

extension DirectorySnapshot {
    func person(uid: String) -> Person? { people.first { $0.uid == uid } }
}
