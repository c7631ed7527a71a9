import Foundation

/// Options of one sandbox run.
public struct SandboxOptions: Sendable {
    public var stateDirectory: String
    public var seedFile: String?
    public var projectRef = "sandbox"
    public var anonKey = "sandbox-anon-key"
    /// The service-role key GoTrue's admin routes expect as the bearer (a JWT with role service_role in Supabase).
    public var serviceRoleKey = "sandbox-service-role-key"
    public var tokenTTL: Double = 3600
    public var sensitiveLimit = 50
    public var sensitiveWindow: Double = 3600
    public var apiLimit = 600
    public var apiWindow: Double = 60

    public init(stateDirectory: String) { self.stateDirectory = stateDirectory }
}

/// The whole emulator: state, middleware and routes, in one actor so requests never race.
///
/// `process` follows MixerAI's middleware order: session cookie → rate limit (keyed by user) → CSRF →
/// `csrf-token` cookie → 401 → `app-session-id` → route. Test hooks under `/__sandbox/` skip all of it.
public actor SandboxStore {
    let options: SandboxOptions
    var state: SandboxState
    var limiter: RateLimiter
    var faults: [Fault] = []
    var log: [JSONValue] = []
    var appSessions: [String: AppSession] = [:]
    /// When an access token has expired, refresh it server-side from the cookie's refresh token (as @supabase/ssr
    /// does) — or answer 401 (`POST /__sandbox/settings {"server_refresh": false}`).
    var serverRefresh = true
    /// GoTrue's e-mail limit hit: invites answer 429.
    var inviteEmailLimited = false
    /// Bumped by every `save()`; the caches below are valid for one version.
    var version = 0
    /// What the next flush writes: nothing, the sessions only, or everything.
    var pendingWrite = PendingWrite.none
    /// Flushes so far; each file records the flush that wrote it, so a newer `sessions.json` is laid over `state.json`.
    var flushes = 0
    /// Users who signed in since `state.json` was last written: their `last_sign_in_at` goes to `sessions.json`.
    var signedInSinceStateWrite = Set<String>()
    var orderCache: (Int, [SandboxUser])?
    var permissionCache: (Int, [String: [SandboxPermission]])?
    var profileCountCache: (Int, Int)?

    struct AppSession {
        var userId: String
        var created: Date
        var lastSeen: Date
    }

    enum PendingWrite: Comparable { case none, sessions, everything }

    var statePath: String { options.stateDirectory + "/state.json" }
    var sessionsPath: String { options.stateDirectory + "/sessions.json" }

    public init(options: SandboxOptions) throws {
        self.options = options
        self.limiter = RateLimiter(sensitiveLimit: options.sensitiveLimit, sensitiveWindow: options.sensitiveWindow,
                                   apiLimit: options.apiLimit, apiWindow: options.apiWindow)
        try FileManager.default.createDirectory(atPath: options.stateDirectory, withIntermediateDirectories: true)
        let path = options.stateDirectory + "/state.json"
        if let data = FileManager.default.contents(atPath: path) {
            state = try Self.decoder.decode(SandboxState.self, from: data)
            if let data = FileManager.default.contents(atPath: options.stateDirectory + "/sessions.json") {
                let sessions = try Self.decoder.decode(SandboxSessions.self, from: data)
                if sessions.flush > state.flush ?? -1 { sessions.apply(to: &state) }
                flushes = max(sessions.flush, state.flush ?? 0)
            } else {
                flushes = state.flush ?? 0
            }
        } else {
            let seed: Seed
            if let file = options.seedFile {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw SeedError(message: "cannot read seed file \(file)")
                }
                seed = try Seed.parse(data)
            } else {
                seed = Seed.standard
            }
            state = try seed.state(now: Date())
            try Self.write(state, to: path)
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()

    static func write(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: data) else {
            throw SeedError(message: "cannot write \(temp)")
        }
        // rename(2) replaces the old file atomically: a crash leaves the old state or the new, never half.
        guard rename(temp, path) == 0 else { throw SeedError(message: "cannot replace \(path)") }
    }

    /// Persists the state after a change (and invalidates the read caches). The file is written at most every
    /// 100 ms, off the actor, in order: encoding 10,000 users took ~0.3 s per write when every write waited for it.
    func save() {
        version += 1
        schedule(.everything)
    }

    /// Persists a sign-in or a refresh: new tokens and one user's `last_sign_in_at`. GoTrue writes a session row
    /// and one column; rewriting every user for it (2.8 s of CPU at 100,000 users) would make each client's
    /// sign-in slow the sandbox down for seconds, which MixerAI never does. The read caches are patched, not dropped.
    func saveSession(userIndex: Int) {
        let user = state.users[userIndex]
        signedInSinceStateWrite.insert(user.id)
        if let (v, cached) = orderCache, v == version {
            orderCache = nil
            var users = cached
            if let i = users.firstIndex(where: { $0.id == user.id }) { users[i] = user }
            orderCache = (v, users)
        }
        schedule(.sessions)
    }

    private func schedule(_ write: PendingWrite) {
        let idle = pendingWrite == .none
        pendingWrite = max(pendingWrite, write)
        guard idle else { return }
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            self.flush()
        }
    }

    private func flush() {
        let write = pendingWrite
        guard write != .none else { return }
        pendingWrite = .none
        flushes += 1
        state.flush = flushes
        if write == .everything {
            signedInSinceStateWrite = []
            let (snapshot, path) = (state, statePath)
            Self.writer.async { try? Self.write(snapshot, to: path) }
        } else {
            let (sessions, path) = (SandboxSessions(of: state, signedIn: signedInSinceStateWrite, flush: flushes), sessionsPath)
            Self.writer.async { try? Self.write(sessions, to: path) }
        }
    }

    /// Writes what is pending and waits for it (at shutdown).
    public func close() {
        flush()
        Self.writer.sync {}
    }

    private static let writer = DispatchQueue(label: "mixerai-sandbox.state-writer")

    /// Users in GoTrue's list order (newest first), cached until the next change.
    func usersNewestFirst() -> [SandboxUser] {
        if let (v, users) = orderCache, v == version { return users }
        let users = state.users.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        orderCache = (version, users)
        return users
    }

    /// `count(*)` of profiles (the list's `total`), cached until the next change.
    func profileCount() -> Int {
        if let (v, n) = profileCountCache, v == version { return n }
        var n = 0
        for i in state.users.indices where state.users[i].profile != nil { n += 1 }
        profileCountCache = (version, n)
        return n
    }

    /// Brand permissions by user, cached until the next change.
    func permissions(of userId: String) -> [SandboxPermission] {
        if permissionCache?.0 != version {
            permissionCache = (version, Dictionary(grouping: state.permissions, by: \.userId))
        }
        return permissionCache?.1[userId] ?? []
    }

    // MARK: - The pipeline

    public func process(_ request: SandboxRequest, now: Date = Date()) -> SandboxResponse {
        var response: SandboxResponse
        if request.path.hasPrefix("/__sandbox/") {
            response = hook(request, now: now)
            return response  // hooks are not logged: the log is what mixer-sync did
        } else if request.path.hasPrefix("/auth/v1/") {
            response = goTrue(request, now: now)
        } else if request.path.hasPrefix("/api/") {
            response = api(request, now: now)
        } else {
            response = SandboxResponse(status: 404, text: "Not Found")
        }
        record(request, response, now: now)
        return response
    }

    private func api(_ request: SandboxRequest, now: Date) -> SandboxResponse {
        let cookies = AuthCookie.parse(request.headers("cookie"))
        var setCookies: [String] = []
        let user = authenticate(cookies: cookies, now: now, setCookies: &setCookies)

        let bucket = RateLimiter.bucket(for: request.path)
        let decision = limiter.check(bucket, key: user?.id ?? "anonymous", now: now)
        var headers: [(String, String)] = [
            ("x-ratelimit-limit", String(decision.limit)), ("x-ratelimit-remaining", String(decision.remaining)),
            ("x-ratelimit-reset", ISOTime.string(decision.reset)),
        ]
        if let retry = decision.retryAfter { headers.append(("retry-after", String(retry))) }
        func finish(_ r: SandboxResponse) -> SandboxResponse {
            var r = r
            r.headers += headers
            r.headers += setCookies.map { ("set-cookie", $0) }
            return r
        }
        guard decision.allowed else {
            return finish(SandboxResponse(status: 429, json: ["success": false, "error": .string(decision.message),
                                                              "retryAfter": .number(Double(decision.retryAfter ?? 0))]))
        }

        let mutation = ["POST", "PUT", "PATCH", "DELETE"].contains(request.method)
        let exempt = ["/api/auth/", "/api/health", "/api/env-check", "/api/test-"].contains { request.path.contains($0) }
        if mutation && !exempt {
            let header = request.header("x-csrf-token") ?? ""
            let cookie = cookies["csrf-token"] ?? ""
            if header.isEmpty || cookie.isEmpty || header != cookie {
                return finish(SandboxResponse(status: 403, json: ["success": false, "error": "CSRF validation failed",
                                                                  "code": "CSRF_ERROR", "method": .string(request.method),
                                                                  "path": .string(request.path)]))
            }
        }
        if cookies["csrf-token"] == nil {
            setCookies.append("csrf-token=\(IDs.token(32)); Path=/; SameSite=Strict")
        }
        guard let user else {
            return finish(SandboxResponse(status: 401, json: ["success": false, "error": "Unauthorized", "code": "AUTH_REQUIRED"]))
        }
        ensureAppSession(user: user, cookie: cookies["app-session-id"], now: now, setCookies: &setCookies)

        for index in faults.indices where faults[index].kind == .status {
            if faults[index].matches(method: request.method, path: request.path) {
                let extra = (faults[index].headers ?? [:]).sorted { $0.key < $1.key }.map { name, value -> (name: String, value: String) in
                    guard value.hasPrefix("http-date:+"), let ahead = Double(value.dropFirst("http-date:+".count)) else {
                        return (name.lowercased(), value)
                    }
                    return (name.lowercased(), HTTPDateFormat.string(now.addingTimeInterval(ahead)))
                }
                return finish(SandboxResponse(status: faults[index].status ?? 500,
                                              json: faults[index].body ?? ["success": false, "error": "Injected fault"], headers: extra))
            }
        }
        var response = route(request, caller: user, now: now)
        for index in faults.indices where faults[index].kind != .status {
            if faults[index].matches(method: request.method, path: request.path) {
                if faults[index].kind == .delay { response.delay = .milliseconds(faults[index].delayMs ?? 1000) }
                if faults[index].kind == .drop { response.dropConnection = true }
            }
        }
        return finish(response)
    }

    /// The user of the session cookie; an expired access token is refreshed from the cookie's refresh token.
    private func authenticate(cookies: [String: String], now: Date, setCookies: inout [String]) -> SandboxUser? {
        guard let (access, refresh) = AuthCookie.tokens(in: cookies, ref: options.projectRef),
              let token = state.tokens.first(where: { $0.accessToken == access }) else { return nil }
        if token.expiresAt > now {
            // MixerAI's middleware asks GoTrue for the user on every request (`src/middleware.ts`, getUser): on an
            // Auth version with PR #2642 a banned user's live token is refused there, so the request is anonymous.
            return state.userIndex(id: token.userId).map { state.users[$0] }.flatMap { $0.isBanned(now: now) ? nil : $0 }
        }
        guard serverRefresh, let refresh, let (session, user) = refreshSession(refreshToken: refresh, now: now) else {
            return nil
        }
        setCookies += AuthCookie.setCookies(session: session, ref: options.projectRef)
        return user
    }

    /// `app-session-id`: at most 5 per user (oldest evicted), 30 min idle, 24 h absolute.
    private func ensureAppSession(user: SandboxUser, cookie: String?, now: Date, setCookies: inout [String]) {
        if let id = cookie, var session = appSessions[id], session.userId == user.id,
           now.timeIntervalSince(session.lastSeen) < 1800, now.timeIntervalSince(session.created) < 86400 {
            session.lastSeen = now
            appSessions[id] = session
            return
        }
        let id = IDs.token(16)
        appSessions[id] = AppSession(userId: user.id, created: now, lastSeen: now)
        let mine = appSessions.filter { $0.value.userId == user.id }.sorted { $0.value.created < $1.value.created }
        for (old, _) in mine.dropLast(5) { appSessions[old] = nil }
        setCookies.append("app-session-id=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=86400")
    }

    func appSessionCount(userId: String) -> Int { appSessions.values.filter { $0.userId == userId }.count }

    private func record(_ request: SandboxRequest, _ response: SandboxResponse, now: Date) {
        let cookies = AuthCookie.parse(request.headers("cookie"))
        let csrfHeader = request.header("x-csrf-token")
        var entry: [String: JSONValue] = [
            "seq": .number(Double(log.count + 1)), "time": .string(ISOTime.string(now)),
            "method": .string(request.method), "path": .string(request.path),
            "query": .object(request.query.mapValues { .string($0) }),
            "cookies": .array(cookies.keys.sorted().map { .string($0) }),
            "csrf_header": .bool(csrfHeader != nil),
            "csrf_matches": .bool(csrfHeader != nil && csrfHeader == cookies["csrf-token"]),
            "status": .number(Double(response.status)),
        ]
        // Which client sent it (mixer-sync says its host and PID): a pair's writes are told apart by it.
        if let agent = request.header("user-agent") { entry["user_agent"] = .string(agent) }
        if !request.body.isEmpty {
            // Passwords never reach the log, even the sandbox's.
            if case .object(var body)? = request.json {
                for key in ["password", "refresh_token"] where body[key] != nil { body[key] = "<redacted>" }
                entry["body"] = .object(body)
            } else {
                entry["body"] = .string(String(decoding: request.body.prefix(4096), as: UTF8.self))
            }
        }
        log.append(.object(entry))
    }
}

public struct SeedError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
