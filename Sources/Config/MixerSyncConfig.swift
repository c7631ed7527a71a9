import Directory
import Reconcile

/// `[mixerai]`: where MixerAI is and how mixer-sync signs in (used from the client issue on).
public struct MixerAISettings: Sendable, Equatable {
    public var url: String
    public var supabaseURL: String
    public var supabaseAnonKey: String?
    /// Resolved path of the anon key file, when the key is not inline.
    public var supabaseAnonKeyFile: String?
    public var supabaseProjectRef: String?
    public var serviceEmail: String
    /// Resolved path of the service account's password file.
    public var servicePasswordFile: String
    public var caFile: String?
    public var caDirectory: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    /// The longest one call may take, connection included (`timeout`, default 30 s); a call cut off is ambiguous.
    public var timeout: Duration = .seconds(30)
}

/// `[report]` and `[daemon]` (`[state]` and `[ha]`: StateSection.swift).

public struct ReportSettings: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case json, markdown, html }
    public var directory: String
    public var formats: [Format]
    public var keep: Int
}

public struct DaemonSettings: Sendable, Equatable {
    public enum ChangeFeed: String, Sendable, CaseIterable { case auto, syncrepl, usn, dirsync, off }
    public var fullSyncInterval: Duration
    public var changeFeed: ChangeFeed
    public var metricsListen: String
    /// Active Directory's fast path: how often `highestCommittedUSN` (or DirSync) is read (`usn_poll_interval`, default 2 s).
    public var usnPollInterval: Duration = .seconds(2)
    /// The change feed judges a burst of events whole: after the feed has been quiet this long (`feed_settle`,
    /// default 300 ms)…
    public var feedSettle: Duration = .milliseconds(300)
    /// …or once the burst has been gathered this long (`feed_settle_max`, default 2 s).
    public var feedSettleCap: Duration = .seconds(2)
}

/// The whole configuration file, decoded and validated once, then passed down as plain values.
public struct MixerSyncConfig: Sendable {
    /// The file it came from.
    public var file: String
    public var directory: DirectorySettings
    public var roles: [RoleMapping]
    public var mixerai: MixerAISettings?
    /// `[supabase]`: bans through GoTrue's admin API; nil when the section is absent.
    public var supabase: SupabaseSettings?
    public var policy: Policy
    public var state: StateSettings
    public var report: ReportSettings
    public var daemon: DaemonSettings
    /// Things that are allowed but worth saying on every run (plaintext to a non-loopback host).
    public var warnings: [String]
    /// Where people come from (`source`): the LDAP directory, or an IdP over SCIM (`[scim]`).
    public var source: PeopleSource = .ldap
    public var scim: SCIMSettings?

    /// Every secret file the configuration names, resolved, with the key that names it.
    public var secretFiles: [(key: String, path: String)] {
        var files: [(String, String)] = []
        if let p = directory.bindPasswordFile { files.append(("directory.bind_password_file", p)) }
        if let m = mixerai {
            files.append(("mixerai.service_password_file", m.servicePasswordFile))
            if let p = m.supabaseAnonKeyFile { files.append(("mixerai.supabase_anon_key_file", p)) }
        }
        if let s = supabase { files.append(("supabase.service_role_key_file", s.serviceRoleKeyFile)) }
        if let p = state.postgres?.passwordFile { files.append(("state.password_file", p)) }
        for p in scim?.tokenFiles ?? [] { files.append(("scim.token_file", p)) }
        if let p = scim?.keyFile { files.append(("scim.key_file", p)) }
        return files
    }
}
