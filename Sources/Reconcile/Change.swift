/// What mixer-sync would make a MixerAI account look like (or how it looks now): the `from` / `to` of a change.
public struct AccountState: Sendable, Equatable, Codable {
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

    /// Offboarding's target (decision 4): inactive, viewer, no brands.
    public static let offboarded = AccountState(active: false, role: .viewer, brands: [:])
}

/// One change mixer-sync would apply, with its reason chain.
public struct Change: Sendable, Equatable {
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
    }

    public var kind: Kind
    public var email: String?
    public var newEmail: String?
    public var reason: String

    public init(kind: Kind, email: String?, newEmail: String? = nil, reason: String) {
        self.kind = kind
        self.email = email
        self.newEmail = newEmail
        self.reason = reason
    }
}
