import Foundation
import Reconcile

/// GoTrue's admin routes as `supabase/auth` serves them (`internal/api/admin.go`, `internal/api/auth.go`,
/// `requireAdmin`): the bearer must be the service-role key (a JWT whose role is in `JWT.AdminRoles`); the user
/// read, the page of users and the update with `ban_duration` (Go durations, `"none"` lifts), `app_metadata` and
/// `user_metadata` (merged key by key, `null` removes). Faults under `/auth/v1/admin/` apply as on MixerAI's routes.
extension SandboxStore {
    func goTrueAdmin(_ request: SandboxRequest, now: Date) -> SandboxResponse {
        guard let authorization = request.header("authorization"), authorization.lowercased().hasPrefix("bearer "),
              case let bearer = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces), !bearer.isEmpty else {
            return Self.goTrueError(401, "no_authorization", "This endpoint requires a Bearer token")
        }
        if bearer != options.serviceRoleKey {
            // The anon key and users' access tokens are valid JWTs without an admin role; anything else does not parse.
            if bearer == options.anonKey || state.tokens.contains(where: { $0.accessToken == bearer }) {
                return Self.goTrueError(403, "not_admin", "User not allowed")
            }
            return Self.goTrueError(401, "bad_jwt", "invalid JWT: unable to parse or verify signature, token is malformed")
        }
        for index in faults.indices where faults[index].kind == .status {
            if faults[index].matches(method: request.method, path: request.path) {
                return SandboxResponse(status: faults[index].status ?? 500,
                                       json: faults[index].body ?? ["code": 500, "error_code": "unexpected_failure",
                                                                    "msg": "Injected fault"])
            }
        }
        var response = adminRoute(request, now: now)
        for index in faults.indices where faults[index].kind != .status {
            if faults[index].matches(method: request.method, path: request.path) {
                if faults[index].kind == .delay { response.delay = .milliseconds(faults[index].delayMs ?? 1000) }
                if faults[index].kind == .drop { response.dropConnection = true }
            }
        }
        return response
    }

    private func adminRoute(_ request: SandboxRequest, now: Date) -> SandboxResponse {
        let parts = request.path.split(separator: "/").map(String.init)  // auth, v1, admin, users, {id}
        guard parts.count >= 4, parts[3] == "users" else { return Self.goTrueError(404, "not_found", "Not Found") }
        if parts.count == 4 {
            guard request.method == "GET" else { return Self.goTrueError(405, "method_not_allowed", "Method Not Allowed") }
            return listAuthUsers(request)
        }
        guard parts.count == 5 else { return Self.goTrueError(404, "not_found", "Not Found") }
        guard UUID(uuidString: parts[4]) != nil else {
            return Self.goTrueError(404, "validation_failed", "user_id must be an UUID")
        }
        guard let index = state.userIndex(id: parts[4]) else { return Self.goTrueError(404, "user_not_found", "User not found") }
        switch request.method {
        case "GET": return SandboxResponse(status: 200, json: goTrueUser(state.users[index]))
        case "PUT": return updateAuthUser(index, request, now: now)
        default: return Self.goTrueError(405, "method_not_allowed", "Method Not Allowed")
        }
    }

    /// `GET /auth/v1/admin/users?page=&per_page=`: newest first, `x-total-count` as GoTrue's pagination headers.
    private func listAuthUsers(_ request: SandboxRequest) -> SandboxResponse {
        let page = max(1, Int(request.query["page"] ?? "1") ?? 1)
        let perPage = min(1000, max(1, Int(request.query["per_page"] ?? "50") ?? 50))
        let users = usersNewestFirst()
        let slice = users.dropFirst((page - 1) * perPage).prefix(perPage)
        var response = SandboxResponse(status: 200, json: ["users": .array(slice.map(goTrueUser)), "aud": "authenticated"])
        response.headers.append(("x-total-count", String(users.count)))
        return response
    }

    /// `PUT /auth/v1/admin/users/{id}`: the ban first (outside the transaction, as GoTrue does), then the metadata.
    private func updateAuthUser(_ index: Int, _ request: SandboxRequest, now: Date) -> SandboxResponse {
        guard let body = request.json, let params = body.object else {
            return Self.goTrueError(400, "bad_json", "Could not parse request body as JSON")
        }
        if let ban = params["ban_duration"]?.string, !ban.isEmpty {
            var seconds = 0.0
            if ban != "none" {
                do { seconds = try GoDuration.parse(ban) } catch {
                    return Self.goTrueError(400, "validation_failed", "invalid format for ban duration: \(error)")
                }
            }
            // `user.Ban`: a zero duration clears it; any other sets now + duration (in the past for a negative one).
            state.users[index].bannedUntil = seconds == 0 ? nil : now.addingTimeInterval(seconds)
        }
        if let meta = params["app_metadata"]?.object {
            for (key, value) in meta { state.users[index].appMetadata[key] = value.isNull ? nil : value }
        }
        if let meta = params["user_metadata"]?.object {
            for (key, value) in meta { state.users[index].userMetadata[key] = value.isNull ? nil : value }
        }
        save()
        return SandboxResponse(status: 200, json: goTrueUser(state.users[index]))
    }

    /// GoTrue's error body (`internal/api/apierrors`): `code` is the HTTP status, `error_code` the reason.
    static func goTrueError(_ status: Int, _ code: String, _ message: String) -> SandboxResponse {
        SandboxResponse(status: status, json: ["code": .number(Double(status)), "error_code": .string(code), "msg": .string(message)])
    }
}
