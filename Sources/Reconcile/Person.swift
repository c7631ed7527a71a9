/// Why the directory says a person has left (docs/directory.md: `leaver_evidence`).
public enum LeaverEvidence: String, Sendable, Codable, Comparable, CaseIterable {
    /// The entry matches the configured `disabled_filter`.
    case disabledFilter = "disabled_filter"
    /// The entry lives under the configured `leavers_base`.
    case leaversBase = "leavers_base"
    /// The account is locked or disabled (pwdAccountLockedTime, nsAccountLock, AD userAccountControl / accountExpires).
    case accountLock = "account_lock"
    /// The IdP set `active` to false over SCIM (docs/scim.md).
    case scimInactive = "scim_inactive"
    /// The IdP deleted the user over SCIM.
    case scimDeleted = "scim_deleted"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A group the person belongs to, with the path that made them a member: `via` lists the groups from the
/// one that names the person directly up to (not including) `dn`. Empty `via` means a direct member.
public struct GroupMembership: Sendable, Hashable, Codable {
    public var dn: String
    public var via: [String]

    public init(dn: String, via: [String] = []) {
        self.dn = dn
        self.via = via
    }
}

/// One person of the directory, as mixer-sync understands them.
public struct Person: Sendable, Equatable, Codable {
    /// The immutable identity anchor (entryUUID, objectGUID in canonical form, nsUniqueId …) as text.
    public var anchor: String
    public var dn: String
    /// Normalised (trimmed, NFC, lower-case); nil when the entry has no email.
    public var email: String?
    public var givenName: String?
    public var surname: String?
    /// From the full-name attribute, or given name + surname when that is missing.
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?
    public var department: String?
    public var uid: String?
    /// Every group under the groups base the person belongs to, nested membership expanded.
    public var groups: [GroupMembership]
    /// Every kind of leaver evidence that applies; empty for an active person.
    public var leaverEvidence: [LeaverEvidence]
    /// The search rules that found the person (the leavers-base read counts as `leavers_base`).
    public var rules: [String]

    public init(anchor: String, dn: String, email: String? = nil, givenName: String? = nil, surname: String? = nil,
                fullName: String? = nil, jobTitle: String? = nil, company: String? = nil, department: String? = nil,
                uid: String? = nil, groups: [GroupMembership] = [], leaverEvidence: [LeaverEvidence] = [],
                rules: [String] = []) {
        self.anchor = anchor
        self.dn = dn
        self.email = email
        self.givenName = givenName
        self.surname = surname
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
        self.department = department
        self.uid = uid
        self.groups = groups
        self.leaverEvidence = leaverEvidence
        self.rules = rules
    }

    public var isLeaver: Bool { !leaverEvidence.isEmpty }
}
