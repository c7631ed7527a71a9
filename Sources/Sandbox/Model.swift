import Foundation

/// A GoTrue auth user with its `public.profiles` row: what MixerAI's user routes read and write.
public struct SandboxUser: Codable, Equatable, Sendable {
    public var id: String
    public var email: String
    /// Only for users who can sign in (the service account, accepted invites).
    public var password: String?
    public var createdAt: Date
    public var lastSignInAt: Date?
    public var emailConfirmedAt: Date?
    public var invitedAt: Date?
    /// `raw_user_meta_data`: full_name, job_title, company, avatar_url, role, status. Writable by the user.
    public var userMetadata: [String: JSONValue]
    /// `raw_app_meta_data`: global_role, intended_role, invited_to_brand_id, …
    public var appMetadata: [String: JSONValue]
    /// The `profiles` row; nil for a user without one (then `total` in the list differs).
    public var profile: Profile?
    /// Referenced by a table without ON DELETE: deleting fails with 23503.
    public var deleteBlocked: Bool
    /// A workflow-invitation row for the `user_invitation_status` view: "pending" or "expired".
    public var workflowInvitation: String?
    /// GoTrue's `banned_until`: while it is in the future, sign-in and refresh are refused.
    public var bannedUntil: Date?

    /// GoTrue's `IsBanned`.
    func isBanned(now: Date) -> Bool { bannedUntil.map { now < $0 } ?? false }

    public struct Profile: Codable, Equatable, Sendable {
        public var fullName: String?
        public var jobTitle: String?
        public var company: String?
        public var avatarURL: String?
        public var email: String?
    }
}

public struct SandboxBrand: Codable, Equatable, Sendable {
    public var id: String
    public var name: String
    public var brandColor: String?
    public var logoURL: String?
}

/// A `user_brand_permissions` row; (user, brand) is unique.
public struct SandboxPermission: Codable, Equatable, Sendable {
    public var id: String
    public var userId: String
    public var brandId: String
    public var role: String
}

/// A GoTrue session: an access token valid until `expiresAt`, refreshed once with its refresh token.
public struct SandboxToken: Codable, Equatable, Sendable {
    public var userId: String
    public var accessToken: String
    public var refreshToken: String
    public var expiresAt: Date
    public var refreshUsed: Bool
}

/// Everything that survives a restart, written atomically after every change.
public struct SandboxState: Codable, Equatable, Sendable {
    public var users: [SandboxUser] = []
    public var brands: [SandboxBrand] = []
    public var permissions: [SandboxPermission] = []
    public var tokens: [SandboxToken] = []
    /// The flush that wrote this file (nil in files from before sessions were written apart).
    public var flush: Int?

    public init() {}

    func userIndex(id: String) -> Int? { users.firstIndex { $0.id == id } }
    func userIndex(email: String) -> Int? {
        let e = email.lowercased()
        return users.firstIndex { $0.email.lowercased() == e }
    }
    func permissions(of userId: String) -> [SandboxPermission] { permissions.filter { $0.userId == userId } }
    func brand(id: String) -> SandboxBrand? { brands.first { $0.id == id } }
}

/// `sessions.json`: what sign-ins and refreshes changed since `state.json` was last written (tokens, the
/// `last_sign_in_at` of who signed in), written without the rest. Laid over `state.json` at start when a later
/// flush wrote it.
struct SandboxSessions: Codable {
    var flush: Int
    var tokens: [SandboxToken]
    var lastSignIn: [String: Date]

    init(of state: SandboxState, signedIn: Set<String>, flush: Int) {
        self.flush = flush
        tokens = state.tokens
        var times: [String: Date] = [:]
        for id in signedIn {
            if let i = state.userIndex(id: id), let at = state.users[i].lastSignInAt { times[id] = at }
        }
        lastSignIn = times
    }

    func apply(to state: inout SandboxState) {
        state.tokens = tokens
        for i in state.users.indices { if let at = lastSignIn[state.users[i].id] { state.users[i].lastSignInAt = at } }
    }
}

enum IDs {
    static func uuid() -> String { UUID().uuidString.lowercased() }
    static func isUUID(_ s: String) -> Bool { UUID(uuidString: s) != nil }
    static func token(_ bytes: Int = 24) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
