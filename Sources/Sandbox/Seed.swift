import Foundation

/// The seed file: brands and users to start an empty sandbox with (documented in docs/sandbox.md).
///
///     {"brands": [{"id": "uuid (optional)", "name": "Brand A", "brand_color": "#…", "logo_url": "…"}],
///      "users": [{"id": "uuid (optional)", "email": "a@example.com", "password": "only for accounts that sign in",
///                 "full_name": "…", "job_title": "…", "company": "…",
///                 "role": "user_metadata.role", "global_role": "app_metadata.global_role",
///                 "status": "active|inactive", "signed_in": true, "created_at": "ISO", "invited": false,
///                 "brands": {"Brand A": "editor"}, "user_metadata": {…}, "app_metadata": {…},
///                 "no_profile": false, "delete_blocked": false, "workflow_invitation": "pending|expired"}]}
public struct Seed: Sendable {
    public var json: JSONValue

    public static func parse(_ data: Data) throws -> Seed {
        guard let json = JSONValue.parse(data), json.object != nil else { throw SeedError(message: "the seed is not a JSON object") }
        return Seed(json: json)
    }

    func state(now: Date) throws -> SandboxState {
        var state = SandboxState()
        for b in json["brands"]?.array ?? [] {
            guard let name = b["name"]?.string else { throw SeedError(message: "a brand needs a name") }
            state.brands.append(SandboxBrand(id: b["id"]?.string ?? IDs.uuid(), name: name,
                                             brandColor: b["brand_color"]?.string, logoURL: b["logo_url"]?.string))
        }
        for (i, u) in (json["users"]?.array ?? []).enumerated() {
            // Seeded users are created one second apart, in file order (the list shows newest first).
            let (user, permissions) = try Self.user(from: u, brands: state.brands,
                                                    now: now.addingTimeInterval(Double(i) - 86400))
            state.users.append(user)
            state.permissions += permissions
        }
        return state
    }

    static func user(from u: JSONValue, brands: [SandboxBrand], now: Date) throws -> (SandboxUser, [SandboxPermission]) {
        guard let email = u["email"]?.string?.lowercased() else { throw SeedError(message: "a user needs an email") }
        let id = u["id"]?.string ?? IDs.uuid()
        var userMetadata = u["user_metadata"]?.object ?? [:]
        var appMetadata = u["app_metadata"]?.object ?? ["provider": "email", "providers": ["email"]]
        for key in ["full_name", "job_title", "company"] { if let v = u[key] { userMetadata[key] = v } }
        if let role = u["role"]?.string { userMetadata["role"] = .string(role) }
        if let status = u["status"]?.string { userMetadata["status"] = .string(status) }
        if let global = u["global_role"]?.string { appMetadata["global_role"] = .string(global) }
        let created = u["created_at"]?.string.flatMap(Self.date) ?? now
        let signedIn = u["last_sign_in_at"]?.string.flatMap(Self.date) ?? (u["signed_in"]?.bool == false ? nil : created)
        let invited = u["invited"]?.bool == true
        let user = SandboxUser(
            id: id, email: email, password: u["password"]?.string, createdAt: created,
            lastSignInAt: invited ? nil : signedIn, emailConfirmedAt: invited ? nil : signedIn,
            invitedAt: invited ? created : nil, userMetadata: userMetadata, appMetadata: appMetadata,
            profile: u["no_profile"]?.bool == true ? nil : .init(
                fullName: u["full_name"]?.string, jobTitle: u["job_title"]?.string, company: u["company"]?.string,
                avatarURL: nil, email: email),
            deleteBlocked: u["delete_blocked"]?.bool == true, workflowInvitation: u["workflow_invitation"]?.string)
        var permissions: [SandboxPermission] = []
        for (brandName, role) in u["brands"]?.object ?? [:] {
            guard let brand = brands.first(where: { $0.name == brandName || $0.id == brandName }) else {
                throw SeedError(message: "user \(email): unknown brand \(brandName)")
            }
            permissions.append(SandboxPermission(id: IDs.uuid(), userId: id, brandId: brand.id, role: role.string ?? "viewer"))
        }
        return (user, permissions)
    }

    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }

    /// The built-in seed: the service account (both admin notions), a user whose two admin notions disagree,
    /// ordinary staff across three brands, a deactivated user, a pending invite, a manual account, and a user
    /// whose deletion is blocked by a foreign key.
    public static let standard = Seed(json: [
        "brands": [["name": "Brand A", "brand_color": "#ff6600"], ["name": "Brand B"], ["name": "Brand C"]],
        "users": [
            ["email": "mixer-sync@example.com", "password": "sandbox-password", "full_name": "mixer-sync",
             "role": "admin", "global_role": "admin", "company": "Example Ltd"],
            ["email": "breakglass@example.com", "password": "breakglass-password", "full_name": "Break Glass",
             "role": "admin", "global_role": "admin"],
            ["email": "app-admin-only@example.com", "password": "half-admin-password", "full_name": "Half Admin",
             "role": "editor", "global_role": "admin",
             "brands": ["Brand A": "editor"]],
            ["email": "user00010@example.com", "full_name": "Kai Lee", "job_title": "Writer", "company": "Example Ltd",
             "role": "editor", "global_role": "editor", "brands": ["Brand A": "editor"]],
            ["email": "user00011@example.com", "full_name": "Lea Lee", "job_title": "Designer", "company": "Example Ltd",
             "role": "viewer", "global_role": "viewer", "brands": ["Brand B": "viewer"]],
            ["email": "gone01@example.com", "full_name": "Gone Away1", "role": "editor", "global_role": "editor",
             "status": "inactive", "brands": ["Brand A": "editor", "Brand C": "viewer"]],
            ["email": "pending@example.com", "full_name": "Pending Person", "role": "viewer", "invited": true,
             "app_metadata": ["intended_role": "viewer", "invite_type": "direct_user_invite"]],
            ["email": "manual@example.com", "full_name": "Manual Account", "role": "editor", "global_role": "editor",
             "brands": ["Brand C": "editor"]],
            ["email": "blocked@example.com", "full_name": "Blocked Delete", "role": "viewer", "global_role": "viewer",
             "delete_blocked": true],
        ],
    ])

    /// A large seed for benchmarks: `users` people spread over `brands` brands, plus the service account.
    public static func generated(users: Int, brands: Int) -> Seed {
        let brandNames = (1...max(1, brands)).map { "Brand \($0)" }
        var list: [JSONValue] = [["email": "mixer-sync@example.com", "password": "sandbox-password",
                                  "full_name": "mixer-sync", "role": "admin", "global_role": "admin"]]
        let roles = ["viewer", "editor", "editor", "viewer", "admin"]
        for i in 1...max(1, users) {
            let role = roles[i % roles.count] == "admin" && i % 50 != 0 ? "editor" : roles[i % roles.count]
            list.append(["email": .string(String(format: "user%05d@example.com", i)),
                         "full_name": .string("User \(i)"), "job_title": "Staff", "company": "Example Ltd",
                         "role": .string(role), "global_role": .string(role),
                         "brands": .object([brandNames[i % brandNames.count]: .string(role == "admin" ? "admin" : role)])])
        }
        return Seed(json: ["brands": .array(brandNames.map { ["name": .string($0)] }), "users": .array(list)])
    }
}
