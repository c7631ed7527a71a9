import Config
import CurlHTTP
import Foundation
import MixerAI
import Secrets

/// What really locks a leaver out (docs/revocation.md): a GoTrue ban, outside MixerAI's write budget. The product
/// uses `GoTrueRevoker` (the `[supabase]` section); the daemon's unit tests use an in-memory one.
public protocol SignInRevoker: Sendable {
    /// Bans sign-in; returns `banned_until`.
    func ban(userId: String) async throws -> Date
    /// Lifts a ban (`"none"`).
    func lift(userId: String) async throws
    /// `banned_until` as GoTrue has it now (nil: not banned, or no such user): the read-back after a lost answer.
    func bannedUntil(userId: String) async throws -> Date?
    /// A read that changes nothing, proving the key: the project's user count when GoTrue says it.
    func probe() async throws -> Int?
    /// `app_metadata.global_role` as GoTrue has it (nil: none, or no such user).
    func globalRole(userId: String) async throws -> String?
    /// Sets `app_metadata.global_role` (`fix_app_metadata`): MixerAI reads that key first.
    func setGlobalRole(userId: String, role: String) async throws
}

/// GoTrue's admin API with the `[supabase]` settings.
public struct GoTrueRevoker: SignInRevoker {
    let admin: GoTrueAdmin
    let duration: String

    public init(_ settings: SupabaseSettings) throws {
        let key: Secret
        do { key = try SecretFile.read(settings.serviceRoleKeyFile) } catch {
            throw RunError("supabase.service_role_key_file: \(error)")
        }
        admin = try GoTrueAdmin(url: settings.url, serviceRoleKey: key,
                                transport: CurlOptions(caFile: settings.caFile, connectTimeout: min(.seconds(5), settings.timeout),
                                                       totalTimeout: settings.timeout))
        duration = settings.banDuration
    }

    public func ban(userId: String) async throws -> Date { try await admin.ban(userId, duration: duration) }
    public func lift(userId: String) async throws { try await admin.liftBan(userId) }
    public func bannedUntil(userId: String) async throws -> Date? { try await admin.user(userId)?.bannedUntil }
    public func probe() async throws -> Int? { try await admin.probe() }
    public func globalRole(userId: String) async throws -> String? { try await admin.user(userId)?.appMetadata["global_role"] }
    public func setGlobalRole(userId: String, role: String) async throws {
        try await admin.setAppMetadata(userId, ["global_role": role])
    }
}

extension Reconciler {
    /// GoTrue's admin API of `[supabase]`, or nil when the section is absent (bans need `on_offboard = "ban"` too).
    public static func goTrueRevoker(_ config: MixerSyncConfig) throws -> (any SignInRevoker)? {
        guard let s = config.supabase else { return nil }
        return try GoTrueRevoker(s)
    }
}
