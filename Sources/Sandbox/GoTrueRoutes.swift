import Foundation

/// A small GoTrue: `POST /auth/v1/token?grant_type=password|refresh_token`, `GET /auth/v1/user`, and the admin
/// routes (`GoTrueAdminRoutes.swift`). A banned user is refused exactly as `supabase/auth` refuses one:
/// the password grant (`internal/api/token.go`), the refresh grant (`internal/api/token_refresh.go`) and — since
/// Supabase Auth PR #2642 — a live access token at `GET /auth/v1/user` (`internal/api/auth.go`).
extension SandboxStore {
    func goTrue(_ request: SandboxRequest, now: Date) -> SandboxResponse {
        guard let key = request.header("apikey") ?? request.query["apikey"] else {
            return SandboxResponse(status: 401, json: ["message": "No API key found in request",
                                                       "hint": "No `apikey` request header or url param was found."])
        }
        // The API gateway (Kong) takes either project key as `apikey`; GoTrue itself then decides from the bearer.
        guard key == options.anonKey || key == options.serviceRoleKey else {
            return SandboxResponse(status: 401, json: ["message": "Invalid API key"])
        }
        if request.path.hasPrefix("/auth/v1/admin/") { return goTrueAdmin(request, now: now) }
        switch (request.method, request.path) {
        case ("POST", "/auth/v1/token"):
            let body = request.json
            switch request.query["grant_type"] {
            case "password":
                guard let email = body?["email"]?.string, let password = body?["password"]?.string,
                      let index = state.userIndex(email: email), let stored = state.users[index].password,
                      stored == password else {
                    return SandboxResponse(status: 400, json: ["code": 400, "error_code": "invalid_credentials",
                                                               "msg": "Invalid login credentials"])
                }
                if state.users[index].isBanned(now: now) {
                    return SandboxResponse(status: 400, json: ["code": 400, "error_code": "user_banned", "msg": "User is banned"])
                }
                state.users[index].lastSignInAt = now
                let session = newSession(userIndex: index, now: now)
                saveSession(userIndex: index)
                return SandboxResponse(status: 200, json: session)
            case "refresh_token":
                if let token = body?["refresh_token"]?.string, let owner = refreshOwner(token), owner.isBanned(now: now) {
                    return SandboxResponse(status: 400, json: ["code": 400, "error_code": "user_banned",
                                                               "msg": "Invalid Refresh Token: User Banned"])
                }
                guard let token = body?["refresh_token"]?.string,
                      let (session, _) = refreshSession(refreshToken: token, now: now) else {
                    return SandboxResponse(status: 400, json: ["code": 400, "error_code": "refresh_token_not_found",
                                                               "msg": "Invalid Refresh Token: Refresh Token Not Found"])
                }
                return SandboxResponse(status: 200, json: session)
            default:
                return SandboxResponse(status: 400, json: ["code": 400, "error_code": "validation_failed",
                                                           "msg": "Unsupported grant type"])
            }
        case ("GET", "/auth/v1/user"):
            let bearer = request.header("authorization").map { String($0.dropFirst("Bearer ".count)) }
            guard let token = state.tokens.first(where: { $0.accessToken == bearer && $0.expiresAt > now }),
                  let index = state.userIndex(id: token.userId) else {
                return SandboxResponse(status: 401, json: ["code": 401, "error_code": "bad_jwt",
                                                           "msg": "invalid JWT: unable to parse or verify signature"])
            }
            if state.users[index].isBanned(now: now) {
                return SandboxResponse(status: 403, json: ["code": 403, "error_code": "user_banned", "msg": "User is banned"])
            }
            return SandboxResponse(status: 200, json: goTrueUser(state.users[index]))
        default:
            return SandboxResponse(status: 404, json: ["code": 404, "error_code": "not_found", "msg": "Not Found"])
        }
    }

    /// Issues a session for a user: GoTrue's session JSON.
    func newSession(userIndex: Int, now: Date) -> JSONValue {
        let user = state.users[userIndex]
        let token = SandboxToken(userId: user.id, accessToken: "sbx." + IDs.token(24), refreshToken: IDs.token(12),
                                 expiresAt: now.addingTimeInterval(options.tokenTTL), refreshUsed: false)
        state.tokens.append(token)
        // Keep the token table small: drop long-expired, used tokens.
        state.tokens.removeAll { $0.refreshUsed && $0.expiresAt < now.addingTimeInterval(-86400) }
        return ["access_token": .string(token.accessToken), "token_type": "bearer",
                "expires_in": .number(options.tokenTTL.rounded()),
                "expires_at": .number(token.expiresAt.timeIntervalSince1970.rounded(.down)),
                "refresh_token": .string(token.refreshToken), "user": goTrueUser(user)]
    }

    /// The user an unused refresh token belongs to.
    func refreshOwner(_ refreshToken: String) -> SandboxUser? {
        state.tokens.first { $0.refreshToken == refreshToken && !$0.refreshUsed }
            .flatMap { state.userIndex(id: $0.userId) }.map { state.users[$0] }
    }

    /// Rotates a refresh token (each works once) into a new session; never for a banned user.
    func refreshSession(refreshToken: String, now: Date) -> (JSONValue, SandboxUser)? {
        guard let t = state.tokens.firstIndex(where: { $0.refreshToken == refreshToken && !$0.refreshUsed }),
              let index = state.userIndex(id: state.tokens[t].userId), !state.users[index].isBanned(now: now) else { return nil }
        state.tokens[t].refreshUsed = true
        let session = newSession(userIndex: index, now: now)
        saveSession(userIndex: index)
        return (session, state.users[index])
    }

    /// A GoTrue user object (`banned_until` only while set, as GoTrue's `omitempty`).
    func goTrueUser(_ user: SandboxUser) -> JSONValue {
        var object = goTrueUserFields(user)
        if let until = user.bannedUntil { object["banned_until"] = .string(ISOTime.string(until)) }
        return .object(object)
    }

    private func goTrueUserFields(_ user: SandboxUser) -> [String: JSONValue] {
        ["id": .string(user.id), "aud": "authenticated", "role": "authenticated", "email": .string(user.email),
         "email_confirmed_at": ISOTime.json(user.emailConfirmedAt), "invited_at": ISOTime.json(user.invitedAt),
         "last_sign_in_at": ISOTime.json(user.lastSignInAt), "app_metadata": .object(user.appMetadata),
         "user_metadata": .object(user.userMetadata), "identities": [], "created_at": .string(ISOTime.string(user.createdAt)),
         "updated_at": .string(ISOTime.string(user.createdAt))]
    }
}
