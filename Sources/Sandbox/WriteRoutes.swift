import Foundation

/// MixerAI's mutating user routes (4.4–4.10), with their exact bodies, codes and quirks.
extension SandboxStore {
    /// `PUT /api/users/{id}`: text fields blanked when omitted; role merged unvalidated into user_metadata;
    /// brand_permissions a full replacement (invalid role → viewer; unknown brand 23503, duplicate 23505, rolled back).
    func updateUser(_ id: String, _ request: SandboxRequest, caller: SandboxUser, now: Date) -> SandboxResponse {
        let admin = RoleRules.isRouteAdmin(caller)
        guard admin || caller.id == id else { return Answer.error(403, "Not authorized to update this user.") }
        guard IDs.isUUID(id) else { return Answer.apiError("Error updating user", code: "22P02") }
        guard let index = state.userIndex(id: id) else { return Answer.apiError("Error updating user", code: "user_not_found") }
        // `await req.json()` throws on a body that is not JSON: handleApiError, nothing written.
        guard let body = request.body.isEmpty ? .object([:]) : request.json, body.object != nil else {
            return Answer.apiError("Error updating user", code: "UNKNOWN")
        }
        func text(_ key: String) -> String { body[key]?.string ?? "" }   // `body.x || ''`
        var newPermissions: [SandboxPermission]?
        if admin, let list = body["brand_permissions"]?.array {
            var seen = Set<String>()
            var rows: [SandboxPermission] = []
            for item in list {
                let brandId = item["brand_id"]?.string ?? ""
                guard state.brand(id: brandId) != nil else {
                    return Answer.apiError("Error updating user", code: "23503",
                                           hint: "Key (brand_id) is not present in table \"brands\".")
                }
                guard seen.insert(brandId).inserted else { return Answer.apiError("Error updating user", code: "23505") }
                let role = item["role"]?.string.flatMap { RoleRules.rank[$0] != nil ? $0 : nil } ?? "viewer"
                rows.append(SandboxPermission(id: IDs.uuid(), userId: id, brandId: brandId, role: role))
            }
            newPermissions = rows
        }
        var user = state.users[index]
        var profile = user.profile ?? SandboxUser.Profile(email: user.email)
        profile.fullName = text("full_name")
        profile.jobTitle = text("job_title")
        profile.company = text("company")
        user.profile = profile
        user.userMetadata["full_name"] = .string(text("full_name"))
        user.userMetadata["job_title"] = .string(text("job_title"))
        user.userMetadata["company"] = .string(text("company"))
        if admin, let role = body["role"]?.string, !role.isEmpty { user.userMetadata["role"] = .string(role) }
        state.users[index] = user
        if let rows = newPermissions {
            state.permissions.removeAll { $0.userId == id }
            state.permissions += rows
        }
        save()
        return Answer.ok(["user": details(state.users[index], caller: caller)])
    }

    /// `DELETE /api/users/{id}`: idempotent for unknown ids; FK-blocked users give 500 23503.
    func deleteUser(_ id: String, caller: SandboxUser) -> SandboxResponse {
        guard RoleRules.isRouteAdmin(caller) else {
            return Answer.error(403, "Forbidden: You do not have permission to delete users.")
        }
        guard caller.id != id else { return Answer.error(403, "You cannot delete your own account.") }
        guard IDs.isUUID(id) else { return Answer.apiError("Error deleting user", code: "22P02") }
        if let index = state.userIndex(id: id) {
            if state.users[index].deleteBlocked {
                return Answer.apiError("Error deleting user", code: "23503",
                                       hint: "Key is still referenced from table \"user_status_history\".")
            }
            state.users.remove(at: index)
            state.permissions.removeAll { $0.userId == id }
            state.tokens.removeAll { $0.userId == id }
            save()
        }
        return Answer.ok(["message": "User deleted successfully"])
    }

    /// `POST /api/users/{id}/deactivate`: sets `user_metadata.status = 'inactive'`, nothing else.
    func deactivate(_ id: String, caller: SandboxUser) -> SandboxResponse {
        guard RoleRules.isRouteAdmin(caller) else { return Answer.error(403, "Only admins can deactivate users") }
        guard caller.id != id else { return Answer.error(400, "You cannot deactivate your own account") }
        guard IDs.isUUID(id), let index = state.userIndex(id: id) else {
            return Answer.apiError("Error deactivating user", code: IDs.isUUID(id) ? "user_not_found" : "validation_failed")
        }
        state.users[index].userMetadata["status"] = "inactive"
        save()
        return SandboxResponse(status: 200, json: ["success": true])
    }

    /// `POST /api/users/{id}/reactivate` and `DELETE /api/users/{id}/deactivate`.
    func reactivate(_ id: String, caller: SandboxUser, listForm: Bool) -> SandboxResponse {
        guard RoleRules.isRouteAdmin(caller) else {
            return Answer.error(403, listForm ? "Forbidden: You do not have permission to reactivate users."
                                              : "Only admins can reactivate users")
        }
        guard IDs.isUUID(id), let index = state.userIndex(id: id) else {
            return Answer.apiError("Error reactivating user", code: IDs.isUUID(id) ? "user_not_found" : "validation_failed")
        }
        state.users[index].userMetadata["status"] = "active"
        save()
        if listForm {
            return Answer.ok(["message": "User reactivated successfully", "user": details(state.users[index], caller: caller)])
        }
        return SandboxResponse(status: 200, json: ["success": true])
    }

    /// `POST /api/users/invite` (4.8).
    func invite(_ request: SandboxRequest, caller: SandboxUser, now: Date) -> SandboxResponse {
        guard RoleRules.isAppAdmin(caller) else {
            return Answer.error(403, "Forbidden: Admin access required", extra: ["code": "ADMIN_REQUIRED"])
        }
        guard let body = request.json, body.object != nil else {
            return Answer.apiError("Failed to process user invitation", code: "UNKNOWN")
        }
        guard let rawEmail = body["email"]?.string, !rawEmail.isEmpty else { return Answer.error(400, "Email is required") }
        guard let roleValue = body["role"], !roleValue.isNull else { return Answer.error(400, "Role is required") }
        guard let roleText = roleValue.string else { return Answer.error(500, "Failed to process user invitation") }
        let role = roleText.lowercased()
        guard RoleRules.rank[role] != nil else {
            return Answer.error(400, "Invalid role. Must be one of: admin, editor, viewer")
        }
        let email = rawEmail.lowercased()
        let brandId = body["brand_id"]?.string
        if let existing = state.userIndex(email: email) {
            let userId = state.users[existing].id
            if let brandId {
                guard state.brand(id: brandId) != nil else {
                    return Answer.apiError("Failed to update user permissions", code: "23503")
                }
                if let p = state.permissions.firstIndex(where: { $0.userId == userId && $0.brandId == brandId }) {
                    state.permissions[p].role = role
                } else {
                    state.permissions.append(SandboxPermission(id: IDs.uuid(), userId: userId, brandId: brandId, role: role))
                }
                save()
                return SandboxResponse(status: 200, json: [
                    "success": true, "message": .string("User already exists and has been granted \(role) access to the brand."),
                    "user_exists": true, "user_id": .string(userId)])
            }
            return Answer.error(409, "User with email \(email) already exists.",
                                extra: ["user_exists": true, "user_id": .string(userId)])
        }
        if inviteEmailLimited {
            return Answer.error(429, "User invitation rate limit exceeded. Please try again later.")
        }
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@") else {
            return Answer.apiError("Failed to invite user", code: "validation_failed")
        }
        var metadata: [String: JSONValue] = ["role": .string(role)]
        for key in ["full_name", "job_title", "company"] { metadata[key] = body[key]?.string.json ?? .null }
        let user = SandboxUser(
            id: IDs.uuid(), email: email, password: nil, createdAt: now, lastSignInAt: nil, emailConfirmedAt: nil,
            invitedAt: now, userMetadata: metadata,
            appMetadata: ["provider": "email", "providers": ["email"], "intended_role": .string(role),
                          "invited_to_brand_id": brandId.json, "inviter_id": .string(caller.id),
                          "invite_type": "direct_user_invite"],
            profile: .init(fullName: body["full_name"]?.string, jobTitle: body["job_title"]?.string,
                           company: body["company"]?.string, avatarURL: nil, email: email),
            deleteBlocked: false, workflowInvitation: nil)
        state.users.append(user)
        save()
        return Answer.ok(["data": ["user": goTrueUser(user),
                                   "message": "Invitation sent successfully. User will need to complete setup via email."]])
    }

    /// `POST /api/users/resend-invite` (4.9): an unknown email gets a new, role-less invite.
    func resendInvite(_ request: SandboxRequest, caller: SandboxUser, now: Date) -> SandboxResponse {
        guard RoleRules.isAppAdmin(caller) else {
            return Answer.error(403, "Forbidden: Admin access required", extra: ["code": "ADMIN_REQUIRED"])
        }
        guard let email = request.json?["email"]?.string?.lowercased(), !email.isEmpty else {
            return Answer.error(400, "Email is required.")
        }
        guard let index = state.userIndex(email: email) else {
            state.users.append(SandboxUser(
                id: IDs.uuid(), email: email, password: nil, createdAt: now, lastSignInAt: nil, emailConfirmedAt: nil,
                invitedAt: now, userMetadata: [:], appMetadata: ["provider": "email", "providers": ["email"]],
                profile: .init(fullName: nil, jobTitle: nil, company: nil, avatarURL: nil, email: email),
                deleteBlocked: false, workflowInvitation: nil))
            save()
            return Answer.ok(["message": "New invitation sent successfully."])
        }
        if state.users[index].emailConfirmedAt != nil {
            return Answer.ok(["message": "Password reset email sent (user already confirmed)."])
        }
        state.users[index].invitedAt = now
        save()
        return Answer.ok(["message": "Invitation resent successfully."])
    }

    /// `POST /api/users/fix-role`: every brand permission set to the role, and user_metadata.role.
    func fixRole(_ request: SandboxRequest, caller: SandboxUser) -> SandboxResponse {
        guard RoleRules.isAppAdmin(caller) else {
            return Answer.error(403, "Forbidden: Admin access required", extra: ["code": "ADMIN_REQUIRED"])
        }
        guard let userId = request.json?["userId"]?.string, let role = request.json?["role"]?.string,
              RoleRules.rank[role] != nil else { return Answer.error(400, "userId and a valid role are required") }
        guard let index = state.userIndex(id: userId) else { return Answer.error(404, "User not found") }
        var updated = 0
        for p in state.permissions.indices where state.permissions[p].userId == userId {
            state.permissions[p].role = role
            updated += 1
        }
        state.users[index].userMetadata["role"] = .string(role)
        save()
        return Answer.ok(["message": .string("User role updated to \(role)"),
                          "operations": ["updated": .number(Double(updated)), "created": 0, "details": []]])
    }

    /// The invite-completion flow (`POST /api/auth/complete-invite`), run by a test hook: the invitee signs in,
    /// gets `global_role`, `user_metadata.role`, and the invited brand at the intended role. A non-admin invited
    /// without a brand fails with 400 after the global role was set, as in MixerAI.
    func completeInvite(userIndex: Int, password: String?, now: Date) -> SandboxResponse {
        var user = state.users[userIndex]
        let role = user.appMetadata["intended_role"]?.string ?? user.userMetadata["role"]?.string ?? "viewer"
        user.lastSignInAt = now
        user.emailConfirmedAt = user.emailConfirmedAt ?? now
        if let password { user.password = password }
        user.appMetadata["global_role"] = .string(role)
        user.userMetadata["role"] = .string(role)
        state.users[userIndex] = user
        defer { save() }
        guard let brandId = user.appMetadata["invited_to_brand_id"]?.string, state.brand(id: brandId) != nil else {
            if role == "admin" { return Answer.ok(["message": "Invite completed"]) }
            return Answer.error(400, "Invite metadata did not include a target brand")
        }
        if let p = state.permissions.firstIndex(where: { $0.userId == user.id && $0.brandId == brandId }) {
            state.permissions[p].role = role
        } else {
            state.permissions.append(SandboxPermission(id: IDs.uuid(), userId: user.id, brandId: brandId, role: role))
        }
        return Answer.ok(["message": "Invite completed"])
    }
}
