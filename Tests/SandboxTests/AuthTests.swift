import Foundation
import Sandbox
import Testing
import TestSupport

/// GoTrue login, the session cookie in all its forms, app sessions and CSRF, over real HTTP.
@Suite struct AuthTests {
    @Test func passwordGrantIssuesASessionAndWrongPasswordsDoNot() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let ok = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=password",
                               headers: ["apikey": "sandbox-anon-key"],
                               body: #"{"email":"mixer-sync@example.com","password":"sandbox-password"}"#)
        #expect(ok.status == 200)
        #expect(ok.json?["token_type"] == "bearer")
        #expect(ok.json?["expires_in"]?.int == 3600)
        #expect(ok.json?["user"]?["app_metadata"]?["global_role"] == "admin")
        let wrong = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=password",
                                  headers: ["apikey": "sandbox-anon-key"],
                                  body: #"{"email":"mixer-sync@example.com","password":"nope"}"#)
        #expect(wrong.status == 400)
        #expect(wrong.json?["error_code"] == "invalid_credentials")
        let noKey = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=password",
                                  body: #"{"email":"mixer-sync@example.com","password":"sandbox-password"}"#)
        #expect(noKey.status == 401)
    }

    @Test func refreshTokensRotateAndWorkOnce() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let login = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=password",
                                  headers: ["apikey": "sandbox-anon-key"],
                                  body: #"{"email":"mixer-sync@example.com","password":"sandbox-password"}"#)
        let refresh = try #require(login.json?["refresh_token"]?.string)
        let body = JSONValue.object(["refresh_token": .string(refresh)]).text()
        let first = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=refresh_token",
                                  headers: ["apikey": "sandbox-anon-key"], body: body)
        #expect(first.status == 200)
        #expect(first.json?["refresh_token"]?.string != refresh)
        let again = try HTTP.send(port: sandbox.port, "POST", "/auth/v1/token?grant_type=refresh_token",
                                  headers: ["apikey": "sandbox-anon-key"], body: body)
        #expect(again.status == 400)
        #expect(again.json?["error_code"] == "refresh_token_not_found")
    }

    @Test(arguments: ["raw", "base64", "chunked"])
    func everyCookieFormAuthenticates(form: String) throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port, cookieForm: form)
        let me = try client.send("GET", "/api/me")
        #expect(me.status == 200)
        #expect(me.json?["user"]?["email"] == "mixer-sync@example.com")
    }

    @Test func noCookieIsAuthRequired() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let r = try HTTP.send(port: sandbox.port, "GET", "/api/users")
        #expect(r.status == 401)
        #expect(r.json == ["success": false, "error": "Unauthorized", "code": "AUTH_REQUIRED"])
        #expect(r.setCookies["csrf-token"]?.count == 64, "a csrf-token cookie is issued when absent")
    }

    @Test func csrfIsADoubleSubmitOnEveryMutation() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        let missing = try client.send("POST", "/api/users/invite", ["email": "x@example.com", "role": "viewer"], csrf: false)
        #expect(missing.status == 403)
        #expect(missing.json == ["success": false, "error": "CSRF validation failed", "code": "CSRF_ERROR",
                                 "method": "POST", "path": "/api/users/invite"])
        client.cookies["csrf-token"] = "cookie-value"
        var headers = ["Cookie": client.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        headers["x-csrf-token"] = "other-value"
        let mismatch = try HTTP.send(port: sandbox.port, "PUT", "/api/users/\(UUID().uuidString.lowercased())",
                                     headers: headers, body: "{}")
        #expect(mismatch.status == 403)
        let matching = try client.send("POST", "/api/users/invite", ["email": "x@example.com", "role": "viewer"])
        #expect(matching.status == 200)
        #expect(try sandbox.user(email: "x@example.com") != nil)
    }

    @Test func atMostFiveAppSessionsPerUser() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let client = try SandboxClient.signIn(port: sandbox.port)
        for _ in 0..<7 {
            var fresh = client  // no app-session-id cookie: each request opens a new server session
            fresh.cookies["app-session-id"] = nil
            #expect(try fresh.send("GET", "/api/me").setCookies["app-session-id"] != nil)
        }
        #expect(try sandbox.user(email: "mixer-sync@example.com")?["app_sessions"]?.int == 5)
        var keeper = client
        try keeper.send("GET", "/api/me")
        let again = try keeper.send("GET", "/api/me")
        #expect(again.setCookies["app-session-id"] == nil, "a valid app session is reused")
    }

    @Test func expiredAccessTokensRefreshServerSideOrGive401() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        var client = try SandboxClient.signIn(port: sandbox.port)
        _ = try sandbox.hook("POST", "expire-tokens")
        let refreshed = try client.send("GET", "/api/me")
        #expect(refreshed.status == 200)
        #expect(refreshed.setCookies["sb-sandbox-auth-token"]?.hasPrefix("base64-") == true)
        _ = try sandbox.hook("POST", "settings", ["server_refresh": false])
        _ = try sandbox.hook("POST", "expire-tokens")
        let expired = try client.send("GET", "/api/me")
        #expect(expired.status == 401)
        #expect(expired.json?["code"] == "AUTH_REQUIRED")
    }
}
