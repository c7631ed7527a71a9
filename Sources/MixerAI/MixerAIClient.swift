import CurlHTTP
import Foundation
import Secrets

/// MixerAI's browser API spoken by a service account: GoTrue sign-in, the session cookie, CSRF double submit,
/// the write budget, and read-back after an ambiguous mutation. The only module that knows MixerAI's wire format.
public actor MixerAIClient {
    struct Session {
        var accessToken: String
        var refreshToken: String
        var expiresAt: Date
    }

    let connection: MixerAIConnection
    let http: HTTPClient
    var session: Session?
    public private(set) var budget = WriteBudget()
    /// Sign-ins performed (for tests and status).
    public private(set) var signIns = 0

    public init(connection: MixerAIConnection) throws {
        self.connection = connection
        self.http = try HTTPClient(options: connection.transport)
    }

    // MARK: - Session

    func signIn() async throws {
        let body = try JSONSerialization.data(withJSONObject: [
            "email": connection.serviceEmail,
            "password": String(decoding: connection.servicePassword.bytes, as: UTF8.self),
        ])
        let response = try await goTrue("password", body: body)
        signIns += 1
        guard response.status == 200 else {
            throw MixerAIError.authentication("GoTrue answered \(response.status): \(Self.goTrueMessage(response.body))")
        }
        try await install(response.body)
    }

    func refresh() async throws {
        guard let token = session?.refreshToken else { return try await signIn() }
        let body = try JSONSerialization.data(withJSONObject: ["refresh_token": token])
        let response = try await goTrue("refresh_token", body: body)
        guard response.status == 200 else { return try await signIn() }
        try await install(response.body)
    }

    private func goTrue(_ grant: String, body: Data) async throws -> HTTPResponse {
        let request = HTTPRequest(method: "POST", url: connection.supabaseURL + "/auth/v1/token?grant_type=" + grant,
                                  headers: [("apikey", String(decoding: connection.anonKey.bytes, as: UTF8.self)),
                                            ("Content-Type", "application/json")], body: body)
        do {
            return try await http.send(request)
        } catch let error as CurlError {
            throw MixerAIError.transport(error)
        }
    }

    /// Stores the session and writes it into the jar as `@supabase/ssr` would (`base64-`, chunked when long).
    private func install(_ data: Data) async throws {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let access = json["access_token"] as? String, let refresh = json["refresh_token"] as? String else {
            throw MixerAIError.malformed("GoTrue session without tokens")
        }
        let expiresAt = (json["expires_at"] as? Double).map { Date(timeIntervalSince1970: $0) }
            ?? Date().addingTimeInterval((json["expires_in"] as? Double) ?? 3600)
        session = Session(accessToken: access, refreshToken: refresh, expiresAt: expiresAt)
        let value = "base64-" + data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let name = "sb-\(connection.projectRef)-auth-token"
        let host = connection.host
        func line(_ n: String, _ v: String) -> String { "\(host)\tFALSE\t/\tFALSE\t0\t\(n)\t\(v)" }
        if value.count <= 3180 {
            try await http.setCookie(line(name, value))
        } else {
            var rest = Substring(value)
            var index = 0
            while !rest.isEmpty {
                try await http.setCookie(line("\(name).\(index)", String(rest.prefix(3180))))
                rest = rest.dropFirst(3180)
                index += 1
            }
        }
    }

    private func ensureSession() async throws {
        guard let s = session else { return try await signIn() }
        if s.expiresAt.timeIntervalSinceNow < connection.refreshMargin { try await refresh() }
    }

    private func csrfToken() async throws -> String {
        if let token = try await http.cookies().first(where: { $0.name == "csrf-token" })?.value { return token }
        _ = try await call("GET", "/api/me")  // any GET makes the middleware issue the cookie
        guard let token = try await http.cookies().first(where: { $0.name == "csrf-token" })?.value else {
            throw MixerAIError.malformed("MixerAI issued no csrf-token cookie")
        }
        return token
    }

    // MARK: - The call pipeline

    /// One MixerAI call: session, CSRF on mutations, budget on writes, one re-sign-in on 401, Retry-After on 429,
    /// and (for idempotent calls only) retries with backoff on 5xx and on transport failures.
    func call(_ method: String, _ path: String, json: Data? = nil, idempotent: Bool = true) async throws -> HTTPResponse {
        let isWrite = path.contains("/api/users/")
        let mutation = method != "GET"
        var signedInAgain = false
        var refusals = 0
        var attempt = 0
        while true {
            attempt += 1
            try await ensureSession()
            var headers: [(name: String, value: String)] = [("Accept", "application/json")]
            if json != nil { headers.append(("Content-Type", "application/json")) }
            if mutation { headers.append(("x-csrf-token", try await csrfToken())) }
            if isWrite {
                let wait = budget.wait(now: Date())
                if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                budget.spend()
            }
            let response: HTTPResponse
            do {
                response = try await http.send(HTTPRequest(method: method, url: connection.baseURL + path,
                                                           headers: headers, body: json))
            } catch let error as CurlError {
                if idempotent && attempt < 3 && (error.outcomeUnknown || error.neverSent) {
                    try await Task.sleep(for: .milliseconds(200 << attempt))
                    continue
                }
                throw MixerAIError.transport(error)
            }
            // The server's clock matters for the budget's reset and for Retry-After only: not parsed for every read.
            let serverDate = isWrite || response.status == 429 ? response.header("date").flatMap(HTTPDate.parse) : nil
            if isWrite {
                budget.update(limit: response.header("x-ratelimit-limit"), remaining: response.header("x-ratelimit-remaining"),
                              reset: response.header("x-ratelimit-reset"), serverDate: serverDate, now: Date())
            }
            switch response.status {
            case 401 where !signedInAgain:
                signedInAgain = true
                session = nil
                continue
            case 401:
                throw MixerAIError.authentication("MixerAI answered 401 to \(method) \(path) right after a fresh sign-in")
            case 429:
                budget.refusals += 1
                refusals += 1
                let wait = RetryAfter.seconds(response.header("retry-after"), serverDate: serverDate) ?? 60
                budget.blockedUntil = Date().addingTimeInterval(wait)
                guard refusals < 3 else {
                    throw MixerAIError.rateLimited(retryAfter: Int(wait), path: path)
                }
                continue
            case 403 where Self.code(response.body) == "CSRF_ERROR" && attempt < 3:
                continue
            case 500...599 where idempotent && attempt < 3:
                try await Task.sleep(for: .milliseconds(200 << attempt))
                continue
            default:
                return response
            }
        }
    }

    func refused(_ response: HTTPResponse, _ method: String, _ path: String) -> MixerAIError {
        .refused(status: response.status, code: Self.code(response.body), message: Self.message(response.body),
                 method: method, path: path)
    }

    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func code(_ data: Data) -> String? { object(data)?["code"] as? String }

    static func message(_ data: Data) -> String {
        guard let o = object(data) else { return String(decoding: data.prefix(200), as: UTF8.self) }
        if let e = o["error"] as? String { return e }
        if let e = o["error"], let d = try? JSONSerialization.data(withJSONObject: e) { return String(decoding: d, as: UTF8.self) }
        return (o["message"] as? String) ?? "no message"
    }

    static func goTrueMessage(_ data: Data) -> String {
        guard let o = object(data) else { return "unreadable answer" }
        return (o["msg"] as? String) ?? (o["error_description"] as? String) ?? (o["message"] as? String) ?? "no message"
    }
}
