import Foundation
import Sandbox
import Testing
import TestSupport

/// The response shapes of every route mixer-sync calls, pinned key for key to what MixerAI's own route returns
/// (docs/mixerai-fidelity.md names the file of each). A field the real route lacks makes these fail: the sandbox
/// must never again answer with something MixerAI does not send (as `/api/me`'s `app_metadata` once did).
@Suite struct FidelityTests {
    func keys(_ value: JSONValue?) -> Set<String> { Set(value?.object?.keys.map { $0 } ?? []) }

    @Test func meIsTheAuthUserAndProfileWithoutAppMetadata() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port, email: "app-admin-only@example.com",
                                              password: "half-admin-password")
        let r = try client.send("GET", "/api/me")
        #expect(r.status == 200)
        #expect(keys(r.json) == ["success", "user"])
        let user = r.json?["user"]
        #expect(keys(user) == ["id", "email", "user_metadata", "brand_permissions", "full_name", "job_title", "company",
                               "avatar_url"], "src/app/api/me/route.ts: no app_metadata, no global role")
        let permission = try #require(user?["brand_permissions"]?.array?.first)
        #expect(keys(permission) == ["brand_id", "role", "brand"])
        #expect(keys(permission["brand"]) == ["id", "name", "master_claim_brand_id"])
        #expect(user?["avatar_url"]?.string?.hasPrefix("https://api.dicebear.com/7.x/avataaars/svg?seed=") == true)
    }

    @Test func theListRecordAndItsPagination() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let r = try client.send("GET", "/api/users?page=1&pageSize=100&includeInactive=true")
        #expect(keys(r.json) == ["success", "data", "pagination"])
        #expect(keys(r.json?["pagination"]) == ["page", "pageSize", "total"])
        let records = try #require(r.json?["data"]?.array)
        for record in records {
            #expect(keys(record) == ["id", "full_name", "email", "avatar_url", "job_title", "company", "role", "global_role",
                                     "highest_brand_role", "created_at", "last_sign_in_at", "brand_permissions",
                                     "invitation_status", "invitation_expires_at", "user_status", "is_current_user"])
            for p in record["brand_permissions"]?.array ?? [] {
                #expect(keys(p) == ["user_id", "brand_id", "role", "brand"])
                #expect(keys(p["brand"]).isSubset(of: ["id", "name", "brand_color", "logo_url"]))
            }
        }
        // The caller's own row carries its app_metadata role: how mixer-sync proves its service account is an app admin.
        let own = try #require(records.first { $0["is_current_user"] == .bool(true) })
        #expect(own["global_role"] == "Admin")
        var half = try SandboxClient.signIn(port: sandbox.port, email: "breakglass@example.com", password: "breakglass-password")
        #expect(try half.send("GET", "/api/users").status == 200)
    }

    @Test func brandsAndTheirPagination() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let r = try client.send("GET", "/api/brands?limit=all")
        #expect(keys(r.json) == ["success", "data", "pagination"])
        #expect(keys(r.json?["pagination"]) == ["page", "limit", "total", "totalPages", "hasNextPage", "hasPreviousPage"])
        for brand in r.json?["data"]?.array ?? [] {
            #expect(keys(brand).isSuperset(of: ["id", "name"]))
            #expect(keys(brand).isSubset(of: ["id", "name", "brand_color", "logo_url"]))
        }
    }

    @Test func writeRoutesAnswerWithTheirOwnEnvelopes() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let brandA = try #require(try client.send("GET", "/api/brands?limit=all").json?["data"]?.array?
            .first { $0["name"] == "Brand A" }?["id"]?.string)

        let invited = try client.send("POST", "/api/users/invite", ["email": "shape@example.com", "role": "viewer"])
        #expect(keys(invited.json) == ["success", "data"])
        #expect(keys(invited.json?["data"]) == ["user", "message"])
        let id = try #require(invited.json?["data"]?["user"]?["id"]?.string)
        let exists = try client.send("POST", "/api/users/invite", ["email": "shape@example.com", "role": "viewer"])
        #expect(exists.status == 409)
        #expect(keys(exists.json) == ["success", "error", "user_exists", "user_id"])
        let granted = try client.send("POST", "/api/users/invite", ["email": "shape@example.com", "role": "viewer",
                                                                   "brand_id": .string(brandA)])
        #expect(keys(granted.json) == ["success", "message", "user_exists", "user_id"])

        let put = try client.send("PUT", "/api/users/\(id)", ["full_name": "Shape", "job_title": "", "company": "",
            "role": "viewer", "brand_permissions": [["brand_id": .string(brandA), "role": "viewer"]]])
        #expect(keys(put.json) == ["success", "user"])
        #expect(keys(put.json?["user"]) == ["id", "email", "full_name", "job_title", "company", "avatar_url", "globalRole",
                                            "created_at", "last_sign_in_at", "brand_permissions", "is_current_user"])
        for p in put.json?["user"]?["brand_permissions"]?.array ?? [] {
            #expect(keys(p) == ["id", "brand_id", "role", "brand"])
            #expect(keys(p["brand"]) == ["id", "name"])
        }

        #expect(keys(try client.send("POST", "/api/users/\(id)/deactivate").json) == ["success"])
        #expect(keys(try client.send("POST", "/api/users/\(id)/reactivate").json) == ["success"])
        #expect(keys(try client.send("DELETE", "/api/users/\(id)/deactivate").json) == ["success", "message", "user"])
        #expect(keys(try client.send("POST", "/api/users/resend-invite", ["email": "shape@example.com"]).json)
                == ["success", "message"])
        #expect(keys(try client.send("DELETE", "/api/users/\(id)").json) == ["success", "message"])
    }

    @Test func errorsAndRateLimitHeaders() throws {
        let sandbox = try SandboxProcess(["--sensitive-limit", "2", "--sensitive-window", "60"])
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let unknown = "00000000-0000-4000-8000-000000000000"
        // The middleware's refusals (the api bucket: /api/brands is not under /api/users/).
        let csrf = try client.send("POST", "/api/brands", ["name": "x"], csrf: false)
        #expect(csrf.status == 403)
        #expect(keys(csrf.json) == ["success", "error", "code", "method", "path"])
        let anonymous = try HTTP.send(port: sandbox.port, "GET", "/api/me")
        #expect(anonymous.status == 401)
        #expect(keys(anonymous.json) == ["success", "error", "code"])
        // handleApiError: 500 even for an unknown id.
        let gone = try client.send("POST", "/api/users/\(unknown)/deactivate")
        #expect(gone.status == 500)
        #expect(keys(gone.json) == ["success", "error", "details", "hint", "code"])
        #expect(gone.header("x-ratelimit-reset").map { $0.contains("T") && $0.hasSuffix("Z") } == true, "ISO-8601, not epoch")
        #expect(gone.header("x-ratelimit-limit") == "2")
        #expect(gone.header("x-ratelimit-remaining") == "1")
        _ = try client.send("POST", "/api/users/\(unknown)/deactivate")
        let limited = try client.send("POST", "/api/users/\(unknown)/deactivate")
        #expect(limited.status == 429)
        #expect(keys(limited.json) == ["success", "error", "retryAfter"])
        #expect(limited.header("retry-after").flatMap(Int.init) != nil)

    }
}
