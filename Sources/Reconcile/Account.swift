import Foundation

/// A MixerAI account as the core sees it (the MixerAI module translates the wire format into this).
public struct Account: Sendable, Equatable {
    public var id: String
    /// Normalised (trimmed, NFC, lower-case); nil when MixerAI has none.
    public var email: String?
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?
    /// The global role the API reads and writes (`user_metadata.role`, the list's `role`), nil when unknown.
    public var globalRole: Role?
    /// `app_metadata` says admin (the list's `global_role`): set at invite completion, never changed by the API
    /// (docs/mixerai-client.md: the two admin notions), so mixer-sync can neither grant nor remove it; a mismatch is a manual action.
    public var appAdmin: Bool
    /// Brand id → role.
    public var brands: [String: Role]
    public var active: Bool
    /// Invited and never signed in.
    public var pending: Bool
    /// When the account was created (an invite's age), and when it last signed in: audit only.
    public var createdAt: Date?
    public var lastSignInAt: Date?

    public init(id: String, email: String?, fullName: String? = nil, jobTitle: String? = nil, company: String? = nil,
                globalRole: Role? = nil, brands: [String: Role] = [:], active: Bool = true, pending: Bool = false,
                createdAt: Date? = nil, lastSignInAt: Date? = nil, appAdmin: Bool = false) {
        self.appAdmin = appAdmin
        self.createdAt = createdAt
        self.lastSignInAt = lastSignInAt
        self.id = id
        self.email = email
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
        self.globalRole = globalRole
        self.brands = brands
        self.active = active
        self.pending = pending
    }
}
