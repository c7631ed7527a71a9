import Foundation

/// Test hooks under `/__sandbox/`: outside auth, CSRF and rate limits, and not in the request log.
extension SandboxStore {
    func hook(_ request: SandboxRequest, now: Date) -> SandboxResponse {
        let body = request.json
        switch (request.method, request.path) {
        case ("GET", "/__sandbox/state"):
            return SandboxResponse(status: 200, json: stateJSON())
        case ("GET", "/__sandbox/requests"):
            return SandboxResponse(status: 200, json: ["requests": .array(log)])
        case ("DELETE", "/__sandbox/requests"):
            log.removeAll()
            return SandboxResponse(status: 200, json: ["ok": true])
        case ("POST", "/__sandbox/faults"):
            guard let json = body, let fault = Fault.from(json) else {
                return SandboxResponse(status: 400, json: ["error": "a fault needs path_prefix and kind (status|delay|drop)"])
            }
            faults.append(fault)
            return SandboxResponse(status: 200, json: ["ok": true, "faults": .number(Double(faults.count))])
        case ("DELETE", "/__sandbox/faults"):
            faults.removeAll()
            return SandboxResponse(status: 200, json: ["ok": true])
        case ("POST", "/__sandbox/accept-invite"):
            guard let email = body?["email"]?.string, let index = state.userIndex(email: email) else {
                return SandboxResponse(status: 404, json: ["error": "no such user"])
            }
            return completeInvite(userIndex: index, password: body?["password"]?.string, now: now)
        case ("POST", "/__sandbox/users"):
            guard let json = body else { return SandboxResponse(status: 400, json: ["error": "a user object is required"]) }
            do {
                let user = try Seed.user(from: json, brands: state.brands, now: now)
                guard state.userIndex(email: user.0.email) == nil else {
                    return SandboxResponse(status: 409, json: ["error": "email exists"])
                }
                state.users.append(user.0)
                state.permissions += user.1
                save()
                return SandboxResponse(status: 200, json: ["id": .string(user.0.id)])
            } catch {
                return SandboxResponse(status: 400, json: ["error": .string("\(error)")])
            }
        case ("POST", "/__sandbox/expire-tokens"):
            for i in state.tokens.indices {
                state.tokens[i].expiresAt = min(state.tokens[i].expiresAt, now.addingTimeInterval(-1))
                if body?["revoke_refresh"]?.bool == true { state.tokens[i].refreshUsed = true }
            }
            save()
            return SandboxResponse(status: 200, json: ["ok": true])
        case ("POST", "/__sandbox/settings"):
            if let v = body?["server_refresh"]?.bool { serverRefresh = v }
            if let v = body?["invite_email_limited"]?.bool { inviteEmailLimited = v }
            return SandboxResponse(status: 200, json: ["server_refresh": .bool(serverRefresh),
                                                       "invite_email_limited": .bool(inviteEmailLimited)])
        case ("POST", "/__sandbox/exhaust-rate-limits"):
            // Every user's `sensitive` window spent: 0 writes left until `reset_in` seconds from now (default 3600).
            limiter.exhaust(.sensitive, keys: state.users.map(\.id), resetIn: body?["reset_in"]?.number ?? 3600, now: now)
            return SandboxResponse(status: 200, json: ["ok": true])
        case ("POST", "/__sandbox/reset-rate-limits"):
            limiter.reset()
            return SandboxResponse(status: 200, json: ["ok": true])
        default:
            return SandboxResponse(status: 404, json: ["error": "unknown hook \(request.method) \(request.path)"])
        }
    }

    func stateJSON() -> JSONValue {
        ["users": .array(state.users.map { u in
            ["id": .string(u.id), "email": .string(u.email), "created_at": .string(ISOTime.string(u.createdAt)),
             "last_sign_in_at": ISOTime.json(u.lastSignInAt), "email_confirmed_at": ISOTime.json(u.emailConfirmedAt),
             "invited_at": ISOTime.json(u.invitedAt), "user_metadata": .object(u.userMetadata),
             "app_metadata": .object(u.appMetadata), "has_profile": .bool(u.profile != nil),
             "banned_until": ISOTime.json(u.bannedUntil),
             "profile": u.profile.map { p in
                 ["full_name": p.fullName.json, "job_title": p.jobTitle.json, "company": p.company.json]
             } ?? .null,
             "delete_blocked": .bool(u.deleteBlocked), "app_sessions": .number(Double(appSessionCount(userId: u.id)))]
         }),
         "brands": .array(state.brands.map { ["id": .string($0.id), "name": .string($0.name)] }),
         "permissions": .array(state.permissions.map {
             ["user_id": .string($0.userId), "brand_id": .string($0.brandId), "role": .string($0.role)]
         })]
    }
}
