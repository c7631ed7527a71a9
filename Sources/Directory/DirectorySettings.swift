import LDAPClient

/// The directory schema family; it only sets attribute defaults.
public enum DirectoryFlavor: String, Sendable, CaseIterable {
    case openldap
    case activeDirectory = "active-directory"
    case ds389 = "389ds"
}

/// Which directory attribute holds each piece of a person (docs/configuration.md, `[directory.attributes]`).
public struct AttributeMap: Sendable, Equatable {
    public var anchor: String
    public var email: String
    public var givenName: String
    public var surname: String
    public var fullName: String
    public var jobTitle: String
    public var company: String
    public var department: String
    public var uid: String

    public init(anchor: String, email: String, givenName: String, surname: String, fullName: String,
                jobTitle: String, company: String, department: String, uid: String) {
        self.anchor = anchor
        self.email = email
        self.givenName = givenName
        self.surname = surname
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
        self.department = department
        self.uid = uid
    }

    /// The defaults of a flavor.
    public static func defaults(for flavor: DirectoryFlavor) -> AttributeMap {
        switch flavor {
        case .openldap:
            return .init(anchor: "entryUUID", email: "mail", givenName: "givenName", surname: "sn", fullName: "cn",
                         jobTitle: "title", company: "o", department: "departmentNumber", uid: "uid")
        case .ds389:
            return .init(anchor: "nsUniqueId", email: "mail", givenName: "givenName", surname: "sn", fullName: "cn",
                         jobTitle: "title", company: "o", department: "departmentNumber", uid: "uid")
        case .activeDirectory:
            return .init(anchor: "objectGUID", email: "mail", givenName: "givenName", surname: "sn",
                         fullName: "displayName", jobTitle: "title", company: "company", department: "department",
                         uid: "sAMAccountName")
        }
    }

    /// Whether the anchor attribute is binary (objectGUID): its bytes become the canonical GUID string.
    public var anchorIsBinary: Bool { anchor.lowercased() == "objectguid" }
}

/// One `[[directory.users]]` search rule.
public struct UserRule: Sendable, Equatable {
    public var name: String
    public var base: String
    public var scope: SearchScope
    public var filter: String

    public init(name: String, base: String, scope: SearchScope = .sub, filter: String) {
        self.name = name
        self.base = base
        self.scope = scope
        self.filter = filter
    }
}

/// `[directory.groups]`.
public struct GroupSettings: Sendable, Equatable {
    public var base: String
    public var scope: SearchScope
    public var filter: String
    public var nested: Bool

    public init(base: String, scope: SearchScope = .sub,
                filter: String = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))",
                nested: Bool = true) {
        self.base = base
        self.scope = scope
        self.filter = filter
        self.nested = nested
    }
}

/// `[directory.leavers]`.
public struct LeaverSettings: Sendable, Equatable {
    public var disabledFilter: String?
    public var leaversBase: String?
    public var accountLock: Bool

    public init(disabledFilter: String? = nil, leaversBase: String? = nil, accountLock: Bool = true) {
        self.disabledFilter = disabledFilter
        self.leaversBase = leaversBase
        self.accountLock = accountLock
    }
}

/// Everything the directory reader needs, decoded and validated once from the configuration file.
public struct DirectorySettings: Sendable {
    public var urls: [String]
    public var startTLS: Bool
    public var tls: LDAPTLSOptions
    /// How to bind; the password is read from `bindPasswordFile` only when connecting.
    public var bindMethod: BindMethod
    public var bindDN: String?
    public var bindPasswordFile: String?
    public var flavor: DirectoryFlavor
    public var attributes: AttributeMap
    public var users: [UserRule]
    public var groups: GroupSettings?
    public var leavers: LeaverSettings
    public var pageSize: Int
    /// Bounds each operation (connect, bind, every page).
    public var timeout: Duration
    /// Bounds the whole read.
    public var readDeadline: Duration

    public enum BindMethod: String, Sendable {
        case simple, saslExternal = "sasl-external", anonymous
    }

    public init(urls: [String], startTLS: Bool = false, tls: LDAPTLSOptions = .init(), bindMethod: BindMethod = .anonymous,
                bindDN: String? = nil, bindPasswordFile: String? = nil, flavor: DirectoryFlavor = .openldap,
                attributes: AttributeMap? = nil, users: [UserRule], groups: GroupSettings? = nil,
                leavers: LeaverSettings = .init(), pageSize: Int = 1000, timeout: Duration = .seconds(30),
                readDeadline: Duration = .seconds(600)) {
        self.urls = urls
        self.startTLS = startTLS
        self.tls = tls
        self.bindMethod = bindMethod
        self.bindDN = bindDN
        self.bindPasswordFile = bindPasswordFile
        self.flavor = flavor
        self.attributes = attributes ?? .defaults(for: flavor)
        self.users = users
        self.groups = groups
        self.leavers = leavers
        self.pageSize = pageSize
        self.timeout = timeout
        self.readDeadline = readDeadline
    }
}

extension DirectorySettings {
    /// What the change feed watches: one subtree search under the deepest DN that holds every base read (user
    /// rules, groups, leavers), for entries any user rule or the group filter matches. An entry that stops
    /// matching (moved out, or filtered out) comes as a delete; a membership change as a modify of its group.
    public var feedScope: (base: String, filter: String) {
        var bases = users.map(\.base)
        if let groups { bases.append(groups.base) }
        if let leaversBase = leavers.leaversBase { bases.append(leaversBase) }
        let parsed = bases.compactMap(DistinguishedName.init)
        var common = parsed.first?.rdns ?? []
        for dn in parsed.dropFirst() {
            let a = common.reversed().map { $0 }, b = dn.rdns.reversed().map { $0 }
            var shared = 0
            while shared < min(a.count, b.count), DistinguishedName(rdns: [a[shared]]).normalized
                    == DistinguishedName(rdns: [b[shared]]).normalized { shared += 1 }
            common = Array(a.prefix(shared).reversed())
        }
        var filters = users.map { LDAPFilter.normalized($0.filter) }
        if let groups { filters.append(LDAPFilter.normalized(groups.filter)) }
        return (DistinguishedName(rdns: common).description, LDAPFilter.or(filters))
    }

    /// What uSNChanged polling searches: every base a read covers, each with its own filter.
    public var usnScopes: [(base: String, filter: String)] {
        var scopes = users.map { ($0.base, LDAPFilter.normalized($0.filter)) }
        if let groups { scopes.append((groups.base, LDAPFilter.normalized(groups.filter))) }
        if let leaversBase = leavers.leaversBase {
            scopes.append((leaversBase, LDAPFilter.or(users.map { LDAPFilter.normalized($0.filter) })))
        }
        return scopes
    }
}
