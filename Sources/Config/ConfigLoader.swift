import Directory
import Foundation
import LDAPClient
import Reconcile
import Secrets
import TOMLKit

/// Loads `mixer-sync.toml`: TOMLKit parses, then every table is walked against the known keys.
public enum ConfigLoader {
    public static let defaultPath = "/etc/mixer-sync/mixer-sync.toml"

    /// Reads and validates the file. Throws `ConfigError` naming the line and the key.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MixerSyncConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot read the configuration file")
        }
        guard let source = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "the file is not valid UTF-8")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(source: source, file: path,
                         configDirectory: directory.isEmpty ? "." : directory,
                         credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
    }

    /// Parses configuration text; `configDirectory` anchors relative secret paths when there is no
    /// `$CREDENTIALS_DIRECTORY`.
    public static func parse(source: String, file: String, configDirectory: String,
                             credentialsDirectory: String?) throws -> MixerSyncConfig {
        let root: TOMLTable
        if let bad = TOMLPrecheck.badTableHeader(source) {
            throw ConfigError(file: file, line: bad.line, key: nil,
                              message: "TOML syntax: a table header must start with a key name or a quote, found '\(bad.found)'")
        }
        do {
            root = try TOMLTable(string: source)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, key: nil, message: "TOML syntax: \(error.description)")
        }
        let context = ParseContext(file: file, locator: KeyLocator(source: source))
        let top = TableReader(root, path: "", context: context)
        let resolver = SecretPaths(configDirectory: configDirectory, credentialsDirectory: credentialsDirectory)
        var warnings: [String] = []

        let source = try top.oneOf("source", PeopleSource.allCases.map { ($0.rawValue, $0) }) ?? .ldap
        let scim = try top.subtable("scim").map { try SCIMSection.parse($0, secrets: resolver) }
        let directorySettings: DirectorySettings
        switch source {
        case .ldap:
            guard let directoryTable = try top.subtable("directory") else {
                throw top.error("directory", "the [directory] section is required")
            }
            directorySettings = try DirectorySection.parse(directoryTable, secrets: resolver, warnings: &warnings)
            if scim != nil { throw top.error("scim", "[scim] serves source = \"scim\"; this configuration reads LDAP (one source per deployment)") }
        case .scim:
            guard scim != nil else { throw top.error("source", "source = \"scim\" needs a [scim] section (listen, token_file)") }
            if try top.subtable("directory") != nil {
                throw top.error("directory", "source = \"scim\": people come from the IdP, not LDAP; remove [directory] (one source per deployment)")
            }
            directorySettings = DirectorySettings(urls: [], users: [])
        }
        let roles = try (top.arrayOfTables("roles") ?? []).map { try parseRole($0, source: source) }
        let mixerai = try top.subtable("mixerai").map { try MixerAISection.parse($0, secrets: resolver, warnings: &warnings) }
        let supabase = try top.subtable("supabase").map { try SupabaseSection.parse($0, secrets: resolver, warnings: &warnings) }
        let policy = try top.subtable("policy").map(parsePolicy) ?? Policy()
        let state = try StateSection.parse(top.subtable("state"), ha: top.subtable("ha"), secrets: resolver)
        let report = try parseReport(top.subtable("report"), stateDirectory: state.directory)
        let daemon = try parseDaemon(top.subtable("daemon"))
        try top.finish()
        var config = MixerSyncConfig(file: file, directory: directorySettings, roles: roles, mixerai: mixerai, supabase: supabase,
                                     policy: policy, state: state, report: report, daemon: daemon, warnings: warnings)
        config.source = source
        config.scim = scim
        return config
    }

    /// Checks every secret file the configuration names: present, readable, not empty.
    public static func checkSecrets(_ config: MixerSyncConfig) -> (errors: [String], warnings: [String]) {
        var errors: [String] = []
        var warnings: [String] = []
        for (key, path) in config.secretFiles {
            do {
                _ = try SecretFile.read(path)
                if SecretFile.isShared(path) {
                    warnings.append("\(key): \(path) is readable by group or others; chmod 600 it")
                }
            } catch {
                errors.append("\(key): \(error)")
            }
        }
        return (errors, warnings)
    }

    private static func parseRole(_ t: TableReader, source: PeopleSource) throws -> RoleMapping {
        let group = try t.requiredString("group")
        switch source {
        case .ldap: guard DistinguishedName(group) != nil else { throw t.error("group", "is not a valid DN: \(group)") }
        case .scim:
            // A SCIM group's displayName, as the IdP pushes it.
            guard !group.trimmingCharacters(in: .whitespaces).isEmpty else { throw t.error("group", "must not be empty") }
        }
        let roleName = try t.requiredString("role")
        guard let role = Role(configName: roleName) else {
            throw t.error("role", "unknown role \"\(roleName)\"; use one of \(Role.acceptedNames.joined(separator: ", "))")
        }
        let brand = try t.string("brand")
        if let brand, brand.trimmingCharacters(in: " \t").isEmpty { throw t.error("brand", "must not be empty") }
        try t.finish()
        return RoleMapping(group: group, role: role, brand: brand)
    }

    private static func parsePolicy(_ t: TableReader) throws -> Policy {
        var p = Policy()
        p.allowAdminGrants = try t.bool("allow_admin_grants") ?? p.allowAdminGrants
        p.unlinked = try t.oneOf("unlinked", Policy.Unlinked.allCases.map { ($0.rawValue, $0) }) ?? p.unlinked
        p.reactivation = try t.oneOf("reactivation", Policy.Reactivation.allCases.map { ($0.rawValue, $0) }) ?? p.reactivation
        p.deleteAfterDays = try t.int("delete_after_days", range: 0...36500) ?? p.deleteAfterDays
        p.protected = try (t.stringArray("protected") ?? []).map { EmailAddress.normalize($0) ?? $0 }
        p.minAdmins = try t.int("min_admins", range: 0...1000) ?? p.minAdmins
        p.maxShrinkPercent = try t.int("max_shrink_percent", range: 0...100) ?? p.maxShrinkPercent
        p.maxDeactivations = try t.int("max_deactivations", range: 0...1_000_000) ?? p.maxDeactivations
        p.maxDeactivationsPercent = try t.int("max_deactivations_percent", range: 0...100) ?? p.maxDeactivationsPercent
        p.maxDowngrades = try t.int("max_downgrades", range: 0...1_000_000) ?? p.maxDowngrades
        p.pendingInviteDays = try t.int("pending_invite_days", range: 1...36500) ?? p.pendingInviteDays
        p.inactiveDays = try t.int("inactive_days", range: 1...36500) ?? p.inactiveDays
        try t.finish()
        return p
    }

    private static func parseReport(_ t: TableReader?, stateDirectory: String) throws -> ReportSettings {
        let defaultDirectory = stateDirectory.hasSuffix("/") ? stateDirectory + "reports" : stateDirectory + "/reports"
        guard let t else { return ReportSettings(directory: defaultDirectory, formats: ReportSettings.Format.allCases, keep: 90) }
        let directory = try t.string("directory") ?? defaultDirectory
        var formats = ReportSettings.Format.allCases
        if let names = try t.stringArray("formats") {
            formats = try names.map { name in
                guard let f = ReportSettings.Format(rawValue: name) else {
                    throw t.error("formats", "unknown format \"\(name)\"; use json, markdown or html")
                }
                return f
            }
        }
        let keep = try t.int("keep", range: 1...100_000) ?? 90
        try t.finish()
        return ReportSettings(directory: directory, formats: formats, keep: keep)
    }

    private static func parseDaemon(_ t: TableReader?) throws -> DaemonSettings {
        var d = DaemonSettings(fullSyncInterval: .seconds(900), changeFeed: .auto, metricsListen: "127.0.0.1:9464")
        guard let t else { return d }
        d.fullSyncInterval = try t.duration("full_sync_interval") ?? d.fullSyncInterval
        d.changeFeed = try t.oneOf("change_feed", DaemonSettings.ChangeFeed.allCases.map { ($0.rawValue, $0) }) ?? d.changeFeed
        d.metricsListen = try t.string("metrics_listen") ?? d.metricsListen
        d.usnPollInterval = try t.duration("usn_poll_interval") ?? d.usnPollInterval
        d.feedSettle = try t.duration("feed_settle") ?? d.feedSettle
        d.feedSettleCap = try t.duration("feed_settle_max") ?? d.feedSettleCap
        if d.feedSettleCap < d.feedSettle {
            throw t.error("feed_settle_max", "must be at least feed_settle")
        }
        try t.finish()
        return d
    }
}

/// Resolves secret file paths (relative → `$CREDENTIALS_DIRECTORY`, else beside the config file).
struct SecretPaths {
    let configDirectory: String
    let credentialsDirectory: String?

    func resolve(_ path: String) -> String {
        SecretFile.resolve(path, configDirectory: configDirectory, credentialsDirectory: credentialsDirectory)
    }
}
