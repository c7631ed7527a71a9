import Foundation
import Sandbox
import Testing
import TestSupport

/// GoTrue's admin routes as `supabase/auth` serves them (docs/sandbox.md): the service-role bearer, GoTrue's error
/// bodies, `ban_duration` in Go's grammar, `banned_until`, and a banned user refused by both grants.
@Suite struct GoTrueAdminTests {
    static let admin = ["apikey": "sandbox-service-role-key", "Authorization": "Bearer sandbox-service-role-key"]

    func signIn(_ sandbox: SandboxProcess, _ email: String, _ password: String) throws -> (status: Int, json: JSONValue?) {
        let r = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=password", headers: ["apikey": "sandbox-anon-key"],
                              body: #"{"email":"\#(email)","password":"\#(password)"}"#)
        return (r.status, r.json)
    }

    @Test func onlyTheServiceRoleKeyOpensTheAdminRoutes() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let none = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users", headers: ["apikey": "sandbox-anon-key"])
        #expect(none.status == 401 && none.json?["error_code"] == "no_authorization")
        let anon = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users",
                                 headers: ["apikey": "sandbox-anon-key", "Authorization": "Bearer sandbox-anon-key"])
        #expect(anon.status == 403 && anon.json?["error_code"] == "not_admin" && anon.json?["msg"] == "User not allowed")
        let badKey = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users",
                                   headers: ["apikey": "wrong", "Authorization": "Bearer wrong"])
        #expect(badKey.status == 401 && badKey.json?["message"] == "Invalid API key")
        let page = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users?page=1&per_page=1", headers: Self.admin)
        #expect(page.status == 200 && page.json?["users"]?.array?.count == 1 && page.json?["aud"] == "authenticated")
        let notUUID = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users/nope", headers: Self.admin)
        #expect(notUUID.status == 404 && notUUID.json?["msg"] == "user_id must be an UUID")
        let missing = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users/\(UUID().uuidString.lowercased())", headers: Self.admin)
        #expect(missing.status == 404 && missing.json?["error_code"] == "user_not_found")
    }

    @Test func aBanRefusesBothGrantsAndNoneLiftsIt() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let session = try signIn(sandbox, "breakglass@example.com", "breakglass-password")
        #expect(session.status == 200)
        let id = try #require(session.json?["user"]?["id"]?.string)
        let refresh = try #require(session.json?["refresh_token"]?.string)
        #expect(session.json?["user"]?["banned_until"] == nil, "omitted while not banned")

        let bad = try HTTP.send(port: sandbox.port, "PUT", "/auth/v1/admin/users/\(id)", headers: Self.admin, body: #"{"ban_duration":"10d"}"#)
        #expect(bad.status == 400 && bad.json?["msg"] == #"invalid format for ban duration: time: unknown unit "d" in duration "10d""#)
        let ban = try HTTP.send(port: sandbox.port, "PUT", "/auth/v1/admin/users/\(id)", headers: Self.admin, body: #"{"ban_duration":"876000h"}"#)
        #expect(ban.status == 200 && ban.json?["banned_until"]?.string?.hasPrefix("2126") == true, "\(String(describing: ban.json))")

        let refused = try signIn(sandbox, "breakglass@example.com", "breakglass-password")
        #expect(refused.status == 400 && refused.json?["error_code"] == "user_banned" && refused.json?["msg"] == "User is banned")
        let noRefresh = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=refresh_token", headers: ["apikey": "sandbox-anon-key"],
                                      body: #"{"refresh_token":"\#(refresh)"}"#)
        #expect(noRefresh.status == 400 && noRefresh.json?["msg"] == "Invalid Refresh Token: User Banned")
        let read = try HTTP.send(port: sandbox.port, "GET", "/auth/v1/admin/users/\(id)", headers: Self.admin)
        #expect(read.json?["banned_until"] == ban.json?["banned_until"])

        let lift = try HTTP.send(port: sandbox.port, "PUT", "/auth/v1/admin/users/\(id)", headers: Self.admin, body: #"{"ban_duration":"none"}"#)
        #expect(lift.status == 200 && lift.json?["banned_until"] == nil)
        #expect(try signIn(sandbox, "breakglass@example.com", "breakglass-password").status == 200)
    }
}
