/// What mixer-sync would make a MixerAI account look like (or how it looks now): the `from` / `to` of a change.
public struct AccountState: Sendable, Equatable, Codable {
    enum CodingKeys: String, CodingKey {
        case active, role, brands, fullName = "full_name", jobTitle = "job_title", company
    }

    public var active: Bool?
    public var role: Role?
    /// Brand name → role.
    public var brands: [String: Role]?
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?

    public init(active: Bool? = nil, role: Role? = nil, brands: [String: Role]? = nil, fullName: String? = nil,
                jobTitle: String? = nil, company: String? = nil) {
        self.active = active
        self.role = role
        self.brands = brands
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
    }

    /// The attribute diff, one line per field that differs ("role: editor → viewer"), for the reason chain.
    public static func differences(_ a: AccountState, _ b: AccountState) -> [String] {
        var lines: [String] = []
        func text(_ v: String?) -> String { v.map { "\"\($0)\"" } ?? "none" }
        if let x = b.active, x != a.active { lines.append("active: \(a.active.map(String.init) ?? "none") → \(x)") }
        if b.role != a.role { lines.append("role: \(a.role?.rawValue ?? "none") → \(b.role?.rawValue ?? "none")") }
        if let want = b.brands, want != (a.brands ?? [:]) {
            func list(_ m: [String: Role]) -> String {
                m.isEmpty ? "none" : m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ", ")
            }
            lines.append("brands: \(list(a.brands ?? [:])) → \(list(want))")
        }
        if let x = b.fullName, x != (a.fullName ?? "") { lines.append("full_name: \(text(a.fullName)) → \(text(x))") }
        if let x = b.jobTitle, x != (a.jobTitle ?? "") { lines.append("job_title: \(text(a.jobTitle)) → \(text(x))") }
        if let x = b.company, x != (a.company ?? "") { lines.append("company: \(text(a.company)) → \(text(x))") }
        return lines
    }

    /// Offboarding's target (decision 4): inactive, viewer, no brands.
    public static let offboarded = AccountState(active: false, role: .viewer, brands: [:])
}

/// One change mixer-sync would apply, with its reason chain.
public struct Change: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case invite, update, setRole = "set_role", setBrands = "set_brands", deactivate, reactivate, delete
    }

    public var kind: Kind
    public var anchor: String?
    public var email: String?
    public var dn: String?
    public var mixerUserId: String?
    public var from: AccountState
    public var to: AccountState
    public var reasons: [String]

    enum CodingKeys: String, CodingKey {
        case kind, anchor, email, dn, mixerUserId = "mixer_user_id", from, to, reasons = "reason"
    }

    public init(kind: Kind, anchor: String?, email: String?, dn: String?, mixerUserId: String?, from: AccountState,
                to: AccountState, reasons: [String]) {
        self.kind = kind
        self.anchor = anchor
        self.email = email
        self.dn = dn
        self.mixerUserId = mixerUserId
        self.from = from
        self.to = to
        self.reasons = reasons
    }
}

/// Something a human must do, listed in the report (`manual_actions`); never a change mixer-sync makes.
public struct ManualAction: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case adminGrant = "admin_grant", inviteWithoutBrand = "invite_without_brand", emailChange = "email_change"
        case unknownBrand = "unknown_brand", lastAdmin = "last_admin", protectedAccount = "protected_account"
        /// MixerAI's app_metadata still says admin and its API cannot change that (H2): remove it in Supabase.
        case appMetadataAdmin = "app_metadata_admin"
    }

    public var kind: Kind
    public var email: String?
    public var newEmail: String?
    public var reason: String
    /// `app_metadata_admin`: the account, and the global role the directory grants it (viewer when offboarded) —
    /// what `[supabase] fix_app_metadata` sets (docs/revocation.md).
    public var mixerUserId: String?
    public var grants: Role?

    public init(kind: Kind, email: String?, newEmail: String? = nil, reason: String, mixerUserId: String? = nil,
                grants: Role? = nil) {
        self.kind = kind
        self.email = email
        self.newEmail = newEmail
        self.reason = reason
        self.mixerUserId = mixerUserId
        self.grants = grants
    }
}
