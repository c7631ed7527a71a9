import Foundation
import Sandbox
import Testing
import TestSupport

/// The /api/users routes with their exact bodies, codes and quirks.
@Suite struct UserRouteTests {
    func id(_ sandbox: SandboxProcess, _ email: String) throws -> String {
        try #require(try sandbox.user(email: email)?["id"]?.string)
    }

    @Test func listPagesBeforeFilteringInactiveAndCountsProfiles() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        _ = try sandbox.hook("POST", "users", ["email": "noprofile@example.com", "no_profile": true])
        var all: [String] = []
        var page = 1
        var shortPage = false
        while true {
            let r = try client.send("GET", "/api/users?page=\(page)&pageSize=3")
            #expect(r.status == 200)
            #expect(r.json?["pagination"]?["total"]?.int == 9, "total counts profiles, not auth users")
            let data = try #require(r.json?["data"]?.array)
            if data.isEmpty { break }
            if data.count < 3 && page < 4 { shortPage = true }
            all += data.compactMap { $0["email"]?.string }
            page += 1
        }
        #expect(!all.contains("gone01@example.com"))
        #expect(shortPage, "the inactive user is filtered after paging, leaving a short page")
        var withInactive: [JSONValue] = []
        page = 1
        while true {
            let data = try #require(try client.send("GET", "/api/users?page=\(page)&pageSize=100&includeInactive=true").json?["data"]?.array)
            if data.isEmpty { break }
            withInactive += data
            page += 1
        }
        #expect(withInactive.count == 10)
        let gone = try #require(withInactive.first { $0["email"] == "gone01@example.com" })
        #expect(gone["user_status"] == "inactive")
        let pending = try #require(withInactive.first { $0["email"] == "pending@example.com" })
        #expect(pending["user_status"] == "no_invitation")
        #expect(pending["last_sign_in_at"] == .null)
        #expect(pending["global_role"] == "Viewer", "derived from app_metadata.intended_role")
    }

    @Test func putBlanksOmittedFieldsAndReplacesBrands() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let kai = try id(sandbox, "user00010@example.com")
        let brands = try #require(try client.send("GET", "/api/brands?limit=all").json?["data"]?.array)
        let brandB = try #require(brands.first { $0["name"] == "Brand B" }?["id"]?.string)
        let r = try client.send("PUT", "/api/users/\(kai)", ["full_name": "Kai Lee",
                                                            "brand_permissions": [["brand_id": .string(brandB), "role": "owner"]]])
        #expect(r.status == 200)
        #expect(r.json?["user"]?["job_title"] == "")
        #expect(r.json?["user"]?["company"] == "")
        let perms = try #require(r.json?["user"]?["brand_permissions"]?.array)
        #expect(perms.count == 1, "Brand A was dropped: the list is a full replacement")
        #expect(perms.first?["role"] == "viewer", "an invalid brand role becomes viewer")
        let unchanged = try client.send("PUT", "/api/users/\(kai)", ["full_name": "Kai Lee", "job_title": "Writer",
                                                                    "company": "Example Ltd"])
        #expect(unchanged.json?["user"]?["brand_permissions"]?.array?.count == 1, "omitting brand_permissions keeps them")
    }

    @Test func putWithAnUnknownBrandRollsBack() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let kai = try id(sandbox, "user00010@example.com")
        let r = try client.send("PUT", "/api/users/\(kai)", ["full_name": "Changed", "job_title": "", "company": "",
            "brand_permissions": [["brand_id": .string(UUID().uuidString.lowercased()), "role": "editor"]]])
        #expect(r.status == 500)
        #expect(r.json?["code"] == "23503")
        #expect(r.json?["details"] == "See server logs for details")
        #expect(try sandbox.user(email: "user00010@example.com")?["profile"]?["full_name"] == "Kai Lee")
        let bad = try client.send("PUT", "/api/users/not-a-uuid", ["full_name": "x"])
        #expect(bad.status == 500)
        #expect(bad.json?["code"] == "22P02")
    }

    @Test func deleteIsIdempotentAndKnowsItsRefusals() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        #expect(try client.send("DELETE", "/api/users/\(UUID().uuidString.lowercased())").json
                == ["success": true, "message": "User deleted successfully"])
        let me = try id(sandbox, "mixer-sync@example.com")
        #expect(try client.send("DELETE", "/api/users/\(me)").json?["error"] == "You cannot delete your own account.")
        let blocked = try client.send("DELETE", "/api/users/\(try id(sandbox, "blocked@example.com"))")
        #expect(blocked.status == 500)
        #expect(blocked.json?["code"] == "23503")
        #expect(try client.send("DELETE", "/api/users/\(try id(sandbox, "manual@example.com"))").status == 200)
        #expect(try sandbox.user(email: "manual@example.com") == nil)
    }

    @Test func deactivateOnlySetsTheFlag() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let kai = try id(sandbox, "user00010@example.com")
        let r = try client.send("POST", "/api/users/\(kai)/deactivate")
        #expect(r.json == ["success": true])
        let user = try #require(try sandbox.user(email: "user00010@example.com"))
        #expect(user["user_metadata"]?["status"] == "inactive")
        #expect(user["user_metadata"]?["role"] == "editor", "roles are untouched")
        #expect(try sandbox.hook("GET", "state")["permissions"]?.array?.contains { $0["user_id"]?.string == kai } == true)
        let login = try HTTP.send(port: sandbox.port, "GET", "/api/users/\(kai)")
        #expect(login.status == 401)  // (no cookie) — the flag itself stops nothing
        let unknown = try client.send("POST", "/api/users/\(UUID().uuidString.lowercased())/deactivate")
        #expect(unknown.status == 500)
        #expect(unknown.json?["error"] == "Error deactivating user")
        let me = try id(sandbox, "mixer-sync@example.com")
        #expect(try client.send("POST", "/api/users/\(me)/deactivate").status == 400)
        #expect(try client.send("POST", "/api/users/\(kai)/reactivate").json == ["success": true])
        try client.send("POST", "/api/users/\(kai)/deactivate")
        let listForm = try client.send("DELETE", "/api/users/\(kai)/deactivate")
        #expect(listForm.json?["message"] == "User reactivated successfully")
        #expect(listForm.json?["user"]?["id"]?.string == kai)
        #expect(try sandbox.user(email: "user00010@example.com")?["user_metadata"]?["status"] == "active")
    }

    @Test func theTwoAdminNotionsDisagree() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var half = try SandboxClient.signIn(port: sandbox.port, email: "app-admin-only@example.com",
                                            password: "half-admin-password")
        #expect(try half.send("GET", "/api/users").status == 200, "the list checks app_metadata")
        #expect(try half.send("POST", "/api/users/invite", ["email": "h@example.com", "role": "viewer"]).status == 200)
        let kai = try id(sandbox, "user00010@example.com")
        #expect(try half.send("POST", "/api/users/\(kai)/deactivate").json?["error"] == "Only admins can deactivate users")
        #expect(try half.send("PUT", "/api/users/\(kai)", ["full_name": "x"]).status == 403)
    }

    @Test func inviteAnswersAsMixerAIDoes() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        #expect(try client.send("POST", "/api/users/invite", ["role": "viewer"]).json?["error"] == "Email is required")
        #expect(try client.send("POST", "/api/users/invite", ["email": "a@example.com"]).json?["error"] == "Role is required")
        #expect(try client.send("POST", "/api/users/invite", ["email": "a@example.com", "role": "owner"]).json?["error"]
                == "Invalid role. Must be one of: admin, editor, viewer")
        let exists = try client.send("POST", "/api/users/invite", ["email": "User00010@Example.com", "role": "viewer"])
        #expect(exists.status == 409)
        #expect(exists.json?["user_exists"] == true)
        let brands = try #require(try client.send("GET", "/api/brands?limit=all").json?["data"]?.array)
        let brandC = try #require(brands.first { $0["name"] == "Brand C" }?["id"]?.string)
        let upsert = try client.send("POST", "/api/users/invite", ["email": "user00010@example.com", "role": "Viewer",
                                                                  "brand_id": .string(brandC)])
        #expect(upsert.status == 200)
        #expect(upsert.json?["user_exists"] == true)
        let fresh = try client.send("POST", "/api/users/invite", ["email": "New@Example.com", "role": "Editor",
                                                                 "full_name": "New Person", "brand_id": .string(brandC),
                                                                 "brand_ids": [.string(brandC)]])
        #expect(fresh.status == 200)
        #expect(fresh.json?["data"]?["user"]?["email"] == "new@example.com")
        let newId = try #require(fresh.json?["data"]?["user"]?["id"]?.string)
        let permissions = { try sandbox.hook("GET", "state")["permissions"]?.array?.filter { $0["user_id"]?.string == newId } ?? [] }
        #expect(try permissions().isEmpty, "the brand is granted only when the invite is accepted")
        _ = try sandbox.hook("POST", "accept-invite", ["email": "new@example.com", "password": "pw"])
        #expect(try permissions().first?["role"] == "editor")
        #expect(try sandbox.user(email: "new@example.com")?["app_metadata"]?["global_role"] == "editor")
        _ = try sandbox.hook("POST", "settings", ["invite_email_limited": true])
        #expect(try client.send("POST", "/api/users/invite", ["email": "z@example.com", "role": "viewer"]).status == 429)
    }

    @Test func resendInviteToAnUnknownEmailCreatesARolelessUser() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let unknown = try client.send("POST", "/api/users/resend-invite", ["email": "stranger@example.com"])
        #expect(unknown.json?["message"] == "New invitation sent successfully.")
        let stranger = try #require(try sandbox.user(email: "stranger@example.com"))
        #expect(stranger["user_metadata"]?.object?["role"] == nil)
        let listed = try #require(try client.send("GET", "/api/users?pageSize=100&includeInactive=true").json?["data"]?.array?
            .first { $0["email"] == "stranger@example.com" })
        #expect(listed["global_role"] == .null)
        #expect(listed["role"] == "Viewer", "a role-less user looks like a viewer in `role`")
        #expect(try client.send("POST", "/api/users/resend-invite", ["email": "user00010@example.com"]).json?["message"]
                == "Password reset email sent (user already confirmed).")
        #expect(try client.send("POST", "/api/users/resend-invite", ["email": "pending@example.com"]).json?["message"]
                == "Invitation resent successfully.")
    }

    @Test func brandsAndMe() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let brands = try client.send("GET", "/api/brands?limit=all")
        #expect(brands.json?["data"]?.array?.compactMap { $0["name"]?.string } == ["Brand A", "Brand B", "Brand C"])
        #expect(brands.json?["pagination"]?["total"]?.int == 3)
        let me = try client.send("GET", "/api/me")
        #expect(me.json?["user"]?["user_metadata"]?["role"] == "admin")
        #expect(me.json?["user"]?["app_metadata"] == nil, "/api/me never returns app_metadata (src/app/api/me/route.ts)")
        #expect(me.header("x-ratelimit-limit") == "600", "/api/me is in the api bucket")
    }
}

@Suite struct BadInputTests {
    @Test func garbageGetsMixerAIsAnswersNeverACrash() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let kai = try #require(try sandbox.user(email: "user00010@example.com")?["id"]?.string)
        var headers = ["Cookie": client.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        headers["x-csrf-token"] = client.cookies["csrf-token"]
        let invite = try HTTP.send(port: sandbox.port, "POST", "/api/users/invite", headers: headers, body: "not json")
        #expect(invite.status == 500)
        #expect(invite.json?["error"] == "Failed to process user invitation")
        let put = try HTTP.send(port: sandbox.port, "PUT", "/api/users/\(kai)", headers: headers, body: "{\"full_name\":")
        #expect(put.status == 500)
        #expect(try sandbox.user(email: "user00010@example.com")?["profile"]?["job_title"] == "Writer", "nothing blanked")
        #expect(try client.send("POST", "/api/users/invite", ["email": "a@example.com", "role": 7]).status == 500)
        #expect(try client.send("GET", "/api/users/search?query=a").status == 400)
        #expect(try client.send("GET", "/api/nowhere").status == 404)
        #expect(try client.send("GET", "/api/me").status == 200, "still serving")
    }
}
