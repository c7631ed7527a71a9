import Foundation

/// Dispatch of MixerAI's `/api` routes (after the middleware).
extension SandboxStore {
    func route(_ request: SandboxRequest, caller: SandboxUser, now: Date) -> SandboxResponse {
        let parts = request.path.split(separator: "/").map(String.init)  // ["api", "users", …]
        let m = request.method
        if parts == ["api", "users"] && m == "GET" { return listUsers(request, caller: caller) }
        if parts == ["api", "brands"] && m == "GET" { return listBrands(request, caller: caller) }
        if parts == ["api", "me"] && m == "GET" { return me(caller) }
        if parts.count >= 3 && parts[0] == "api" && parts[1] == "users" {
            let id = parts[2]
            switch (m, parts.count, parts.count > 3 ? parts[3] : "") {
            case ("GET", 3, _) where id == "search": return searchUsers(request, caller: caller)
            case ("POST", 3, _) where id == "invite": return invite(request, caller: caller, now: now)
            case ("POST", 3, _) where id == "resend-invite": return resendInvite(request, caller: caller, now: now)
            case ("POST", 3, _) where id == "fix-role": return fixRole(request, caller: caller)
            case ("GET", 3, _): return getUser(id, caller: caller)
            case ("PUT", 3, _): return updateUser(id, request, caller: caller, now: now)
            case ("DELETE", 3, _): return deleteUser(id, caller: caller)
            case ("POST", 4, "deactivate"): return deactivate(id, caller: caller)
            case ("DELETE", 4, "deactivate"): return reactivate(id, caller: caller, listForm: true)
            case ("POST", 4, "reactivate"): return reactivate(id, caller: caller, listForm: false)
            case ("GET", 4, "activity"): return Answer.ok(["activities": [], "stats": ["total": 0]])
            default: break
            }
        }
        return Answer.error(404, "Not found")
    }

    // MARK: - Shapes

    /// The list record (4.1).
    func listRecord(_ user: SandboxUser, caller: SandboxUser) -> JSONValue {
        let perms = permissions(of: user.id)
        let fullName = user.profile?.fullName.flatMap { $0.isEmpty ? nil : $0 } ?? "Unnamed User"
        let highest = perms.map(\.role).max { (RoleRules.rank[$0] ?? 0) < (RoleRules.rank[$1] ?? 0) }
        let viewStatus = invitationStatus(user)
        return ["id": .string(user.id), "full_name": .string(fullName), "email": .string(user.email),
                "avatar_url": .string(user.profile?.avatarURL ?? "https://api.dicebear.com/7.x/initials/svg?seed=\(fullName)"),
                "job_title": .string(user.profile?.jobTitle ?? ""), "company": .string(user.profile?.company ?? ""),
                "role": .string(RoleRules.title(user.userMetadata["role"]?.string) ?? "Viewer"),
                "global_role": RoleRules.title(RoleRules.appRole(user)).json,
                "highest_brand_role": RoleRules.title(highest).json,
                "created_at": .string(ISOTime.string(user.createdAt)), "last_sign_in_at": ISOTime.json(user.lastSignInAt),
                "brand_permissions": .array(perms.map { permissionRecord($0) }),
                "invitation_status": .string(viewStatus), "invitation_expires_at": .null,
                "user_status": .string(user.userMetadata["status"]?.string ?? viewStatus),
                "is_current_user": .bool(user.id == caller.id)]
    }

    func permissionRecord(_ p: SandboxPermission) -> JSONValue {
        var brand: [String: JSONValue] = ["id": .string(p.brandId), "name": .string(state.brand(id: p.brandId)?.name ?? "")]
        if let color = state.brand(id: p.brandId)?.brandColor { brand["brand_color"] = .string(color) }
        if let logo = state.brand(id: p.brandId)?.logoURL { brand["logo_url"] = .string(logo) }
        return ["user_id": .string(p.userId), "brand_id": .string(p.brandId), "role": .string(p.role), "brand": .object(brand)]
    }

    /// The `user_invitation_status` view.
    func invitationStatus(_ user: SandboxUser) -> String {
        if user.lastSignInAt != nil { return "active" }
        return user.workflowInvitation ?? "no_invitation"
    }

    /// `get_user_details` (4.3); no status field.
    func details(_ user: SandboxUser, caller: SandboxUser) -> JSONValue {
        let role = user.userMetadata["role"]?.string.flatMap { RoleRules.rank[$0] != nil ? $0 : nil }
        return ["id": .string(user.id), "email": .string(user.email), "full_name": user.profile?.fullName.json ?? .null,
                "job_title": user.profile?.jobTitle.json ?? .null, "company": user.profile?.company.json ?? .null,
                "avatar_url": user.profile?.avatarURL.json ?? .null, "globalRole": role.json,
                "created_at": .string(ISOTime.string(user.createdAt)), "last_sign_in_at": ISOTime.json(user.lastSignInAt),
                "brand_permissions": .array(permissions(of: user.id).map {
                    ["id": .string($0.id), "brand_id": .string($0.brandId), "role": .string($0.role),
                     "brand": ["id": .string($0.brandId), "name": .string(state.brand(id: $0.brandId)?.name ?? "")]]
                }),
                "is_current_user": .bool(user.id == caller.id)]
    }

    // MARK: - Read routes

    func listUsers(_ request: SandboxRequest, caller: SandboxUser) -> SandboxResponse {
        guard RoleRules.isAppAdmin(caller) else {
            return Answer.error(403, "Forbidden: You do not have permission to access this resource.")
        }
        let page = max(1, Int(request.query["page"] ?? "") ?? 1)
        let pageSize = min(100, max(1, Int(request.query["pageSize"] ?? "") ?? 25))
        let includeInactive = request.query["includeInactive"] == "true"
        // GoTrue's listUsers order (newest first), paged first; the inactive filter runs after paging.
        let ordered = usersNewestFirst()
        let start = (page - 1) * pageSize
        let slice = start < ordered.count ? Array(ordered[start..<min(ordered.count, start + pageSize)]) : []
        let shown = slice.filter { includeInactive || $0.userMetadata["status"]?.string != "inactive" }
        let total = profileCount()
        return Answer.ok(["data": .array(shown.map { listRecord($0, caller: caller) }),
                          "pagination": ["page": .number(Double(page)), "pageSize": .number(Double(pageSize)),
                                         "total": .number(Double(total))]])
    }

    func searchUsers(_ request: SandboxRequest, caller: SandboxUser) -> SandboxResponse {
        let query = request.query["query"] ?? ""
        if query.count > 100 || (!query.isEmpty && query.count < 2) {
            return SandboxResponse(status: 400, json: ["success": false, "error": [
                "formErrors": [], "fieldErrors": ["query": [.string(query.count > 100
                    ? "String must contain at most 100 character(s)" : "String must contain at least 2 character(s)")]]]])
        }
        let limit = min(50, max(1, Int(request.query["limit"] ?? "") ?? 10))
        let page = max(1, Int(request.query["page"] ?? "") ?? 1)
        let includeInactive = !(request.query["includeInactive"] ?? "").isEmpty  // zod coerce.boolean
        let q = query.lowercased()
        var users = state.users.filter {
            q.isEmpty || ($0.profile?.fullName ?? "").lowercased().contains(q) || $0.email.lowercased().contains(q)
        }
        if let brand = request.query["brandId"] {
            users = users.filter { u in permissions(of: u.id).contains { $0.brandId == brand } }
        }
        if !includeInactive { users = users.filter { $0.userMetadata["status"]?.string != "inactive" } }
        users.sort { (($0.profile?.fullName ?? ""), $0.id) < (($1.profile?.fullName ?? ""), $1.id) }
        let start = (page - 1) * limit
        let slice = start < users.count ? Array(users[start..<min(users.count, start + limit)]) : []
        return Answer.ok(["users": .array(slice.map { listRecord($0, caller: caller) }),
                          "pagination": ["page": .number(Double(page)), "limit": .number(Double(limit)),
                                         "total": .number(Double(users.count))]])
    }

    func getUser(_ id: String, caller: SandboxUser) -> SandboxResponse {
        guard caller.id == id || RoleRules.isRouteAdmin(caller) else {
            return Answer.error(403, "Not authorized to view this user profile.")
        }
        guard IDs.isUUID(id) else { return Answer.apiError("Error fetching user", code: "22P02") }
        guard let index = state.userIndex(id: id) else { return Answer.error(404, "User not found or invalid data format") }
        return Answer.ok(["user": details(state.users[index], caller: caller)])
    }

    func listBrands(_ request: SandboxRequest, caller: SandboxUser) -> SandboxResponse {
        var brands = state.brands.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        if !RoleRules.isAppAdmin(caller) {
            let mine = Set(permissions(of: caller.id).map(\.brandId))
            brands = brands.filter { mine.contains($0.id) }
        }
        let limitText = request.query["limit"] ?? "20"
        let all = limitText == "all" || limitText == "-1"
        let limit = all ? max(brands.count, 1) : min(100, max(1, Int(limitText) ?? 20))
        let page = all ? 1 : max(1, Int(request.query["page"] ?? "") ?? 1)
        let start = (page - 1) * limit
        let slice = start < brands.count ? Array(brands[start..<min(brands.count, start + limit)]) : []
        let totalPages = (brands.count + limit - 1) / limit
        return Answer.ok(["data": .array(slice.map { b in
            var o: [String: JSONValue] = ["id": .string(b.id), "name": .string(b.name)]
            if let c = b.brandColor { o["brand_color"] = .string(c) }
            if let l = b.logoURL { o["logo_url"] = .string(l) }
            return .object(o)
        }), "pagination": ["page": .number(Double(page)), "limit": all ? .string(limitText) : .number(Double(limit)),
                           "total": .number(Double(brands.count)), "totalPages": .number(Double(totalPages)),
                           "hasNextPage": .bool(page < totalPages), "hasPreviousPage": .bool(page > 1)]])
    }

    /// `GET /api/me` (`src/app/api/me/route.ts`, `withRouteAuth`: any signed-in user): the auth user's id, email and
    /// user_metadata, the profile's four fields (avatar falling back to dicebear's avataaars by id), and the brand
    /// permissions with their brand (id, name, master_claim_brand_id). Never app_metadata.
    func me(_ caller: SandboxUser) -> SandboxResponse {
        var user: [String: JSONValue] = [
            "id": .string(caller.id), "email": .string(caller.email), "user_metadata": .object(caller.userMetadata),
            "brand_permissions": .array(permissions(of: caller.id).map {
                ["brand_id": .string($0.brandId), "role": .string($0.role),
                 "brand": state.brand(id: $0.brandId).map {
                     ["id": .string($0.id), "name": .string($0.name), "master_claim_brand_id": .null]
                 } ?? .null]
            }),
            "avatar_url": .string(caller.profile?.avatarURL ?? "https://api.dicebear.com/7.x/avataaars/svg?seed=\(caller.id)"),
        ]
        // Without a profile row the three fields are `undefined`, which JSON leaves out.
        if let profile = caller.profile {
            user["full_name"] = profile.fullName.json
            user["job_title"] = profile.jobTitle.json
            user["company"] = profile.company.json
        }
        return Answer.ok(["user": .object(user)])
    }
}
