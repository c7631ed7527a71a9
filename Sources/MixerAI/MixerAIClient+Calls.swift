import CurlHTTP
import Foundation

/// The calls mixer-sync makes, each with the fewest writes MixerAI allows.
extension MixerAIClient {
    /// The service account, and whether it holds both admin notions (app_metadata for invite and list,
    /// user_metadata for the `{id}` routes).
    public struct Me: Sendable, Equatable {
        public var id: String
        public var email: String
        public var appAdmin: Bool
        public var routeAdmin: Bool
        public init(id: String, email: String, appAdmin: Bool, routeAdmin: Bool) {
            self.id = id; self.email = email; self.appAdmin = appAdmin; self.routeAdmin = routeAdmin
        }
    }

    /// The health and permission check at start, from what MixerAI really answers (docs/mixerai-fidelity.md).
    /// The `{id}` routes' admin is `user_metadata.role`, which `GET /api/me` returns. The app admin (app_metadata,
    /// needed to list and invite) is never in `/api/me` (`src/app/api/me/route.ts`): it is proved by the list route,
    /// which answers an app admin and refuses anyone else with 403, and by the caller's own row of that list, whose
    /// `global_role` is derived from app_metadata. Throws `.permission` naming what is missing.
    public func me() async throws -> Me {
        let response = try await call("GET", "/api/me")
        guard response.status == 200, let user = Self.object(response.body)?["user"] as? [String: Any],
              let id = user["id"] as? String else { throw refused(response, "GET", "/api/me") }
        let meta = user["user_metadata"] as? [String: Any] ?? [:]
        let email = user["email"] as? String ?? ""
        let listPath = "/api/users?page=1&pageSize=100&includeInactive=true"
        let list = try await call("GET", listPath)
        let appAdmin: Bool
        switch list.status {
        case 200:
            // The list answered: MixerAI took the caller for an app admin. Its own row, when on this first page,
            // must say so too.
            guard let page = Self.decodePage(list.body) else {
                throw MixerAIError.malformed("the user list page 1 does not decode")
            }
            appAdmin = page.first { $0.id == id }.map { $0.globalRole?.lowercased() == "admin" } ?? true
        case 403:
            appAdmin = false
        default:
            throw refused(list, "GET", listPath)
        }
        let me = Me(id: id, email: email, appAdmin: appAdmin, routeAdmin: meta["role"] as? String == "admin")
        var missing: [String] = []
        if !me.appAdmin {
            missing.append("app_metadata.global_role = 'admin' (MixerAI's user list refused it; needed to list and invite)")
        }
        if !me.routeAdmin { missing.append("user_metadata.role = 'admin' (needed to update, deactivate and delete)") }
        if !missing.isEmpty {
            throw MixerAIError.permission("the service account \(me.email) lacks " + missing.joined(separator: " and "))
        }
        return me
    }

    /// Every user, active or not: `includeInactive=true`, paging until an empty page (never trusting `total`).
    public func listUsers(pageSize: Int = 100) async throws -> [MixerUser] {
        try await listUsers(pageSize: pageSize) { $0 }
    }

    /// Every user, turned into `T` page by page (so a 100,000-user list is never held twice). Once the first page
    /// came back (the session works: a refused session costs one call, not a storm), two pages are always asked for
    /// ahead of the one being decoded: the connection's queue starts the next request the moment a page has
    /// arrived (as a curl loop does), and the server's time and ours overlap. The list ends at the first empty
    /// page (a page may be short before the end: MixerAI filters inactive users after paging), so the two requests
    /// after it are the only ones spent for nothing.
    public func listUsers<T: Sendable>(pageSize: Int = 100, map: @escaping @Sendable (MixerUser) -> T,
                                       progress: (@Sendable (_ page: Int, _ users: Int) -> Void)? = nil) async throws -> [T] {
        func path(_ page: Int) -> String { "/api/users?page=\(page)&pageSize=\(pageSize)&includeInactive=true" }
        var out: [T] = []
        var seen = Set<String>()
        var ahead: [Int: Task<HTTPResponse, any Error>] = [:]
        func ask(_ page: Int) {
            if ahead[page] == nil { ahead[page] = Task { try await self.call("GET", path(page)) } }
        }
        // Requests already queued are not left running behind the caller, whatever the outcome.
        func drain() async { for task in ahead.values { _ = try? await task.value } }
        var page = 1
        while true {
            let current = page
            ask(current)
            let response: HTTPResponse
            do { response = try await ahead.removeValue(forKey: current)!.value } catch {
                await drain()
                throw error
            }
            guard response.status == 200 else {
                await drain()
                throw refused(response, "GET", path(page))
            }
            ask(current + 1)
            ask(current + 2)
            // Decoded here, on this task's thread: a page takes well under a millisecond (UserPageReader), less than
            // handing it to another thread and back costs when both cores are busy.
            guard let users = Self.decodePage(response.body) else {
                await drain()
                throw MixerAIError.malformed("the user list page \(page) does not decode")
            }
            if users.isEmpty {
                await drain()
                return out
            }
            for user in users where seen.insert(user.id).inserted { out.append(map(user)) }
            progress?(page, out.count)
            page += 1
        }
    }

    /// One list page's records; nil when the page is not the JSON MixerAI sends, or a record has no id.
    public static func decodePage(_ body: Data) -> [MixerUser]? {
        body.withUnsafeBytes { UserPageReader.users($0.bindMemory(to: UInt8.self)) }
    }

    /// `GET /api/brands?limit=all`.
    public func listBrands() async throws -> [MixerBrand] {
        struct Page: Decodable { var data: [MixerBrand] }
        let response = try await call("GET", "/api/brands?limit=all")
        guard response.status == 200, let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
            throw refused(response, "GET", "/api/brands")
        }
        return page.data
    }

    /// `POST /api/users/invite`. 409 / 200 `user_exists` become "adopt this user". After a timeout or a dropped
    /// connection the email is looked up through the list before anything is resent: never a second invite.
    public func invite(_ request: InviteRequest) async throws -> InviteOutcome {
        let body = try JSONEncoder().encode(request)
        for attempt in 1...2 {
            let response: HTTPResponse
            do {
                response = try await call("POST", "/api/users/invite", json: body, idempotent: false)
            } catch MixerAIError.transport(let error) where error.outcomeUnknown {
                if let found = try await lookUp(email: request.email) { return .invited(userId: found.id) }
                if attempt == 2 { throw MixerAIError.ambiguous("invite of \(request.email): \(error)") }
                continue  // proven not applied: sending again cannot duplicate it
            }
            let object = Self.object(response.body)
            if object?["user_exists"] as? Bool == true, let id = object?["user_id"] as? String,
               response.status == 200 || response.status == 409 {
                return .adopted(userId: id)
            }
            if response.status == 200, let data = object?["data"] as? [String: Any],
               let user = data["user"] as? [String: Any], let id = user["id"] as? String {
                return .invited(userId: id)
            }
            throw refused(response, "POST", "/api/users/invite")
        }
        throw MixerAIError.ambiguous("invite of \(request.email)")
    }

    /// `PUT /api/users/{id}` with the full desired state (idempotent).
    public func update(userId: String, to state: UserUpdate) async throws {
        let path = "/api/users/\(userId)"
        let response = try await call("PUT", path, json: try JSONEncoder().encode(state))
        guard response.status == 200 else { throw refused(response, "PUT", path) }
    }

    /// `POST /api/users/{id}/deactivate`: sets MixerAI's inactive flag (it does not stop sign-in: H1).
    public func deactivate(userId: String) async throws {
        try await simpleWrite("POST", "/api/users/\(userId)/deactivate")
    }

    /// `POST /api/users/{id}/reactivate`.
    public func reactivate(userId: String) async throws {
        try await simpleWrite("POST", "/api/users/\(userId)/reactivate")
    }

    /// `DELETE /api/users/{id}` (200 for an unknown id).
    public func delete(userId: String) async throws {
        try await simpleWrite("DELETE", "/api/users/\(userId)")
    }

    /// `POST /api/users/resend-invite`, only for an email MixerAI knows (an unknown one would become a
    /// role-less account).
    public func resendInvite(email: String) async throws {
        guard try await lookUp(email: email) != nil else {
            throw MixerAIError.refused(status: 0, code: "not_a_mixerai_user",
                                       message: "resend-invite refused for \(email): MixerAI does not know it",
                                       method: "POST", path: "/api/users/resend-invite")
        }
        let body = try JSONSerialization.data(withJSONObject: ["email": email])
        let response = try await call("POST", "/api/users/resend-invite", json: body, idempotent: false)
        guard response.status == 200 else { throw refused(response, "POST", "/api/users/resend-invite") }
    }

    private func simpleWrite(_ method: String, _ path: String) async throws {
        let response = try await call(method, path)
        guard response.status == 200 else { throw refused(response, method, path) }
    }

    /// Reads back through the list (the api bucket), never through `{id}` or search (which spend writes).
    func lookUp(email: String) async throws -> MixerUser? {
        let wanted = email.lowercased()
        return try await listUsers().first { $0.email?.lowercased() == wanted }
    }
}
