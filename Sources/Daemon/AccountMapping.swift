import Foundation
import MixerAI
import Reconcile
import State

/// MixerAI's list records → the core's accounts (the only place the wire format meets the core).
enum AccountMapping {
    static func account(_ u: MixerUser) -> Account {
        var brands: [String: Role] = [:]
        for p in u.brandPermissions { brands[p.brandId] = Role(rawValue: p.role.lowercased()) ?? .viewer }
        return Account(
            id: u.id, email: u.email.flatMap(EmailAddress.normalize),
            // The list shows "Unnamed User" for an empty name: that is no name, not a name to keep in line.
            fullName: u.fullName == "Unnamed User" ? "" : u.fullName, jobTitle: u.jobTitle, company: u.company,
            // `role` is user_metadata.role, the one the API writes (PUT); "Viewer" when unknown (H2).
            globalRole: u.role.flatMap { Role(rawValue: $0.lowercased()) },
            brands: brands, active: !u.isInactive, pending: u.isPending,
            createdAt: u.createdAt.flatMap(ISOTimestamp.parse), lastSignInAt: u.lastSignInAt.flatMap(ISOTimestamp.parse),
            appAdmin: u.globalRole?.lowercased() == "admin")
    }

    /// What the writes keep of an account (its profile, whether it is a pending invite).
    static func profile(_ a: Account) -> AccountProfile {
        AccountProfile(fullName: a.fullName, jobTitle: a.jobTitle, company: a.company, pending: a.pending)
    }

    /// The full desired state for `PUT /api/users/{id}` (H3: every field, every brand, always).
    static func update(_ to: AccountState, brandIdByName: [String: String]) -> UserUpdate {
        UserUpdate(fullName: to.fullName ?? "", jobTitle: to.jobTitle ?? "", company: to.company ?? "",
                   role: (to.role ?? .viewer).rawValue,
                   brands: (to.brands ?? [:]).sorted { $0.key < $1.key }.compactMap { name, role in
                       brandIdByName[name].map { UserUpdate.Brand(brandId: $0, role: role.rawValue) }
                   })
    }
}
