/// A MixerAI account as the core sees it (the MixerAI module translates the wire format into this).
public struct Account: Sendable, Equatable {
    public var id: String
    /// Normalised (trimmed, NFC, lower-case); nil when MixerAI has none.
    public var email: String?
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?
    /// The global role as the list reports it (`global_role`), nil when the account has none.
    public var globalRole: Role?
    /// Brand id → role.
    public var brands: [String: Role]
    public var active: Bool
    /// Invited and never signed in.
    public var pending: Bool

    public init(id: String, email: String?, fullName: String? = nil, jobTitle: String? = nil, company: String? = nil,
                globalRole: Role? = nil, brands: [String: Role] = [:], active: Bool = true, pending: Bool = false) {
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
