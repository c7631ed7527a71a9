/// The roles a person should hold in MixerAI, derived from their groups (docs/reconciling.md: roles).
public struct RoleResolution: Sendable, Equatable {
    /// The global role; nil means the person is not provisioned (no invite; an existing account is left as is).
    public var global: Role?
    /// Per brand (by name): the highest role of the mappings for that brand. Brand admin is allowed.
    public var brands: [String: Role]
    /// An admin mapping without a brand was withheld because `allow_admin_grants` is false: a human decides.
    public var adminWithheld: Bool
    /// Why: one line per mapping that applied, with the group path.
    public var reasons: [String]

    public init(global: Role?, brands: [String: Role] = [:], adminWithheld: Bool = false, reasons: [String] = []) {
        self.global = global
        self.brands = brands
        self.adminWithheld = adminWithheld
        self.reasons = reasons
    }

    public var isProvisioned: Bool { global != nil }
}

/// Decision 1, as a pure function.
public enum RoleResolver {
    /// - Parameter normalize: the DN comparison form (the daemon passes RFC 4514 normalisation); group DNs of the
    ///   person and of the mappings are compared through it.
    public static func resolve(_ person: Person, mappings: [RoleMapping], allowAdminGrants: Bool,
                               normalize: (String) -> String = { $0.lowercased() }) -> RoleResolution {
        var memberships: [String: GroupMembership] = [:]
        for g in person.groups { memberships[normalize(g.dn)] = memberships[normalize(g.dn)] ?? g }
        var unbranded: [Role] = []
        var brands: [String: Role] = [:]
        var reasons: [String] = []
        var withheld = false
        for mapping in mappings {
            guard let membership = memberships[normalize(mapping.group)] else { continue }
            let path = membership.via.isEmpty ? "" : " (via \(membership.via.joined(separator: " → ")))"
            if let brand = mapping.brand {
                brands[brand] = max(brands[brand] ?? mapping.role, mapping.role)
                reasons.append("member of \(mapping.group)\(path) → \(mapping.role.rawValue) for \(brand)")
            } else if mapping.role == .admin && !allowAdminGrants {
                withheld = true
                reasons.append("member of \(mapping.group)\(path) → admin withheld (allow_admin_grants = false)")
            } else {
                unbranded.append(mapping.role)
                reasons.append("member of \(mapping.group)\(path) → \(mapping.role.rawValue) globally")
            }
        }
        let global: Role?
        if let highest = unbranded.max() {
            global = highest
        } else if let highestBrand = brands.values.max() {
            global = min(highestBrand, .editor)
            reasons.append("no global mapping: global role from the brands, capped at editor → \(global!.rawValue)")
        } else {
            global = nil
        }
        return RoleResolution(global: global, brands: brands, adminWithheld: withheld, reasons: reasons)
    }
}
