import CurlHTTP
import Foundation
import Secrets

/// GoTrue's admin API (Supabase Auth, `supabase/auth` `internal/api/admin.go`) with the project's service-role
/// key: read a user, ban or lift a ban (`PUT /auth/v1/admin/users/{id}` with `ban_duration`), correct
/// `app_metadata`. Outside MixerAI's write budget. The key goes in the `apikey` and `Authorization: Bearer`
/// headers only — never in a URL, a log line or an error.
public struct GoTrueAdmin: Sendable {
    /// A GoTrue user as the admin read gives it (the fields mixer-sync uses).
    public struct AuthUser: Sendable, Equatable {
        public var id: String
        public var email: String?
        /// Set while a ban is in force (GoTrue omits it otherwise).
        public var bannedUntil: Date?
        /// `app_metadata.role` / `global_role` as strings, for the `fix_app_metadata` check.
        public var appMetadata: [String: String]
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case transport(CurlError)
        /// GoTrue answered an error: its status, `error_code` and `msg`.
        case refused(status: Int, code: String?, message: String, method: String, path: String)
        case malformed(String)

        public var description: String {
            switch self {
            case .transport(let e): return "Supabase Auth transport: \(e)"
            case .refused(let status, let code, let message, let method, let path):
                let hint = status == 401 || (status == 403 && code == "not_admin")
                    ? " (is supabase.service_role_key_file the project's service-role key?)" : ""
                return "Supabase Auth \(method) \(path) refused: \(status)\(code.map { " \($0)" } ?? ""): \(message)\(hint)"
            case .malformed(let m): return "Supabase Auth answer unreadable: \(m)"
            }
        }

        /// The call may have been applied (the answer was lost): read the user back.
        public var outcomeUnknown: Bool { if case .transport(let e) = self { e.outcomeUnknown } else { false } }
    }

    let baseURL: String
    let key: Secret
    let http: HTTPClient

    public init(url: String, serviceRoleKey: Secret, transport: CurlOptions) throws {
        baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        key = serviceRoleKey
        http = try HTTPClient(options: transport)
    }

    /// Proves the key with a read that changes nothing: one user of the first page. Returns the project's user
    /// count when GoTrue says it (`x-total-count`).
    public func probe() async throws(Failure) -> Int? {
        let response = try await send("GET", "/auth/v1/admin/users?page=1&per_page=1")
        guard response.status == 200 else { throw refused(response, "GET", "/auth/v1/admin/users") }
        guard Self.object(response.body)?["users"] is [Any] else { throw .malformed("the user page has no users array") }
        return response.header("x-total-count").flatMap { Int($0) }
    }

    /// The user, or nil when GoTrue has no such user.
    public func user(_ id: String) async throws(Failure) -> AuthUser? {
        let path = "/auth/v1/admin/users/" + id
        let response = try await send("GET", path)
        if response.status == 404 && Self.object(response.body)?["error_code"] as? String == "user_not_found" { return nil }
        guard response.status == 200 else { throw refused(response, "GET", path) }
        return try Self.authUser(response.body)
    }

    /// Bans sign-in for `duration` (Go duration text); returns `banned_until` as GoTrue set it.
    public func ban(_ id: String, duration: String) async throws(Failure) -> Date {
        let user = try await update(id, ["ban_duration": duration])
        guard let until = user.bannedUntil else { throw .malformed("the ban of \(id) left no banned_until") }
        return until
    }

    /// Lifts a ban (`"none"`).
    public func liftBan(_ id: String) async throws(Failure) {
        _ = try await update(id, ["ban_duration": "none"])
    }

    /// Sets `app_metadata` keys (GoTrue merges them; `NSNull` removes one).
    public func setAppMetadata(_ id: String, _ values: [String: Any]) async throws(Failure) {
        _ = try await update(id, ["app_metadata": values])
    }

    func update(_ id: String, _ body: [String: Any]) async throws(Failure) -> AuthUser {
        let path = "/auth/v1/admin/users/" + id
        guard let data = try? JSONSerialization.data(withJSONObject: body) else { throw .malformed("cannot encode the update") }
        let response = try await send("PUT", path, body: data)
        guard response.status == 200 else { throw refused(response, "PUT", path) }
        return try Self.authUser(response.body)
    }

    /// One call; a request that never left is tried again twice, and a read also after a lost answer or a 5xx.
    func send(_ method: String, _ path: String, body: Data? = nil) async throws(Failure) -> HTTPResponse {
        let secret = String(decoding: key.bytes, as: UTF8.self)
        var headers: [(name: String, value: String)] = [("apikey", secret), ("Authorization", "Bearer " + secret),
                                                        ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await http.send(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body))
                if method == "GET", (500...599).contains(response.status), attempt < 3 {
                    try? await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                return response
            } catch let error as CurlError {
                if attempt < 3 && (error.neverSent || (method == "GET" && error.outcomeUnknown)) {
                    try? await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                throw .transport(error)
            } catch {
                throw .malformed("\(error)")
            }
        }
    }

    func refused(_ response: HTTPResponse, _ method: String, _ path: String) -> Failure {
        let o = Self.object(response.body)
        let message = (o?["msg"] as? String) ?? (o?["message"] as? String) ?? (o?["error_description"] as? String)
            ?? String(decoding: response.body.prefix(200), as: UTF8.self)
        return .refused(status: response.status, code: o?["error_code"] as? String ?? o?["error"] as? String,
                        message: message, method: method, path: path.split(separator: "?").first.map(String.init) ?? path)
    }

    static func object(_ data: Data) -> [String: Any]? { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] }

    static func authUser(_ data: Data) throws(Failure) -> AuthUser {
        guard let o = object(data), let id = o["id"] as? String else { throw .malformed("a user without an id") }
        let meta = (o["app_metadata"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        return AuthUser(id: id, email: o["email"] as? String,
                        bannedUntil: (o["banned_until"] as? String).flatMap(ISOTimestamp.parse), appMetadata: meta)
    }
}
