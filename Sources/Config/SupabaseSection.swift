import Reconcile

/// `[supabase]` (opt-in): GoTrue's admin API with the project's service-role key, so an offboarding bans sign-in
/// for real (docs/revocation.md). The key is a god-mode secret: a file or a systemd credential, never inline.
public struct SupabaseSettings: Sendable, Equatable {
    public enum OnOffboard: String, Sendable, CaseIterable {
        /// Ban sign-in first, then deactivate and strip through MixerAI.
        case ban
        /// Keep the key for `check-mixerai` and `fix_app_metadata` only; offboarding does not ban.
        case none
    }

    /// The Supabase project (`https://<ref>.supabase.co`); plain http only to loopback.
    public var url: String
    /// Resolved path of the service-role key file.
    public var serviceRoleKeyFile: String
    /// Go duration text sent as `ban_duration` (default `876000h`: 100 years).
    public var banDuration: String
    /// The same, in seconds.
    public var banSeconds: Double
    public var onOffboard: OnOffboard
    /// Correct an `app_metadata` admin the directory no longer grants (default false: a manual action).
    public var fixAppMetadata: Bool
    public var caFile: String?
    public var timeout: Duration

    /// Whether offboardings ban sign-in.
    public var bans: Bool { onOffboard == .ban }

    public static let defaultBanDuration = "876000h"
}

enum SupabaseSection {
    static func parse(_ t: TableReader, secrets: SecretPaths, warnings: inout [String]) throws -> SupabaseSettings {
        try t.refuseInline("service_role_key", use: "service_role_key_file")
        let allowPlaintext = try t.bool("allow_plaintext") ?? false
        let url = try t.requiredString("url")
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw t.error("url", "must start with https:// (or http:// to loopback), found \"\(url)\"")
        }
        if lower.hasPrefix("http://") && !URLHost.isLoopback(URLHost.host(of: url)) {
            guard allowPlaintext else {
                throw t.error("url", "\(url) is plaintext HTTP to a non-loopback host; the service-role key would cross "
                              + "the network unencrypted. Use https:// (or set allow_plaintext = true if you accept that risk)")
            }
            warnings.append("supabase.url \(url): plaintext HTTP (allow_plaintext = true): the service-role key crosses "
                            + "the network unencrypted")
        }
        let keyFile = secrets.resolve(try t.requiredString("service_role_key_file"))
        let ban = try t.string("ban_duration") ?? SupabaseSettings.defaultBanDuration
        let seconds: Double
        do { seconds = try GoDuration.parse(ban) } catch {
            throw t.error("ban_duration", "\(error) (Go duration units: ns, us, ms, s, m, h — e.g. \"876000h\")")
        }
        guard seconds >= 3600 else { throw t.error("ban_duration", "must be at least 1h, found \"\(ban)\"") }
        let onOffboard = try t.oneOf("on_offboard", SupabaseSettings.OnOffboard.allCases.map { ($0.rawValue, $0) }) ?? .ban
        let fix = try t.bool("fix_app_metadata") ?? false
        let caFile = try t.string("ca_file").map(secrets.resolve)
        let timeout = try t.duration("timeout") ?? .seconds(10)
        guard timeout >= .seconds(1) else { throw t.error("timeout", "must be at least 1s") }
        try t.finish()
        return SupabaseSettings(url: url, serviceRoleKeyFile: keyFile, banDuration: ban, banSeconds: seconds,
                                onOffboard: onOffboard, fixAppMetadata: fix, caFile: caFile, timeout: timeout)
    }
}
