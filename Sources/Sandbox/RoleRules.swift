/// MixerAI's two admin notions and its role vocabulary (`src/lib/auth/user-role.ts`, `api-auth.ts`).
enum RoleRules {
    static let synonyms: [String: String] = [
        "admin": "admin", "platform_admin": "admin", "global_admin": "admin", "super_admin": "admin",
        "superadmin": "admin", "org_admin": "admin",
        "editor": "editor", "brand_admin": "editor", "content_editor": "editor", "content_admin": "editor",
        "power_user": "editor", "manager": "editor", "brand_manager": "editor", "reviewer": "editor", "writer": "editor",
        "viewer": "viewer", "read_only": "viewer", "read_only_user": "viewer", "brand_viewer": "viewer", "analyst": "viewer",
    ]

    static func normalize(_ raw: String) -> String? {
        synonyms[raw.lowercased().replacingOccurrences(of: "-", with: "_")]
    }

    /// The global role `withAdminAuth` and the list derive from `app_metadata`: the first key that holds a
    /// known role among global_role, globalRole, role, intended_role, intendedRole, then the arrays roles, global_roles.
    static func appRole(_ user: SandboxUser) -> String? {
        for key in ["global_role", "globalRole", "role", "intended_role", "intendedRole"] {
            if let s = user.appMetadata[key]?.string, let r = normalize(s) { return r }
        }
        for key in ["roles", "global_roles"] {
            for item in user.appMetadata[key]?.array ?? [] {
                if let s = item.string, let r = normalize(s) { return r }
            }
        }
        return nil
    }

    /// `withAdminAuth` / list: admin through app_metadata.
    static func isAppAdmin(_ user: SandboxUser) -> Bool { appRole(user) == "admin" }

    /// `withRouteAuth` ({id} routes): `user_metadata.role === 'admin'`, no normalisation.
    static func isRouteAdmin(_ user: SandboxUser) -> Bool { user.userMetadata["role"]?.string == "admin" }

    static func title(_ role: String?) -> String? {
        guard let role else { return nil }
        switch role {
        case "admin": return "Admin"
        case "editor": return "Editor"
        case "viewer": return "Viewer"
        default: return nil
        }
    }

    static let rank = ["viewer": 0, "editor": 1, "admin": 2]
}
