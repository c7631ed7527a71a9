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
        resolve(person, index: RoleMappingIndex(mappings, normalize: normalize), allowAdminGrants: allowAdminGrants,
                normalize: normalize)
    }

    /// The same with the mappings' group DNs normalised once (`RoleMappingIndex`): a plan resolves one membership
    /// set per distinct combination of groups — thousands in a real company — and each costs the person's few
    /// groups, not every mapping.
    public static func resolve(_ person: Person, index: RoleMappingIndex, allowAdminGrants: Bool,
                               normalize: (String) -> String = { $0.lowercased() }) -> RoleResolution {
        // The mappings the person's groups match, in the mappings' order, each with the membership that matched
        // (the first of the person's memberships with that DN).
        var matched: [(index: Int, membership: GroupMembership)] = []
        var seen = Set<String>()
        for g in person.groups {
            let key = normalize(g.dn)
            guard seen.insert(key).inserted, let found = index.byGroup[key] else { continue }
            for i in found { matched.append((i, g)) }
        }
        matched.sort { $0.index < $1.index }
        var unbranded: [Role] = []
        var brands: [String: Role] = [:]
        var reasons: [String] = []
        var withheld = false
        for (i, membership) in matched {
            let mapping = index.mappings[i]
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

/// Role mappings keyed by their group's normalised DN, built once per plan.
public struct RoleMappingIndex: Sendable {
    let mappings: [RoleMapping]
    /// Normalised group DN → the positions of the mappings naming it.
    let byGroup: [String: [Int]]

    public init(_ mappings: [RoleMapping], normalize: (String) -> String = { $0.lowercased() }) {
        self.mappings = mappings
        var byGroup: [String: [Int]] = [:]
        for (i, m) in mappings.enumerated() { byGroup[normalize(m.group), default: []].append(i) }
        self.byGroup = byGroup
    }
}
