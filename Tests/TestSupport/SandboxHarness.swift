import Foundation
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// A running `mixerai-sandbox` process (the real binary), on 127.0.0.1 at the port it picked, stopped by PID.
public final class SandboxProcess: @unchecked Sendable {
    public let pid: pid_t
    public let port: Int
    public let stateDirectory: String

    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static func binary() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["MIXERAI_SANDBOX_BIN"], !explicit.isEmpty { return explicit }
        guard let bin = ProcessInfo.processInfo.environment["MIXER_SYNC_BIN"], !bin.isEmpty else {
            throw Missing(description: "MIXER_SYNC_BIN / MIXERAI_SANDBOX_BIN not set: run the tests through scripts/test")
        }
        return (bin as NSString).deletingLastPathComponent + "/mixerai-sandbox"
    }

    /// Starts a sandbox with a fresh state directory (or `stateDirectory` to reuse one) and waits until it listens.
    public init(_ arguments: [String] = [], stateDirectory: String? = nil) throws {
        let dir = stateDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("sandbox-\(UUID().uuidString)").path
        self.stateDirectory = dir
        let portFile = dir + ".port"
        try? FileManager.default.removeItem(atPath: portFile)
        let argv = [try Self.binary(), "--port", "0", "--state", dir, "--port-file", portFile] + arguments
        var pid: pid_t = 0
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        let rc = posix_spawn(&pid, argv[0], &fileActions, nil, cargs, environ)
        guard rc == 0 else { throw Missing(description: "cannot start \(argv[0]): \(rc)") }
        self.pid = pid
        var port = 0
        for _ in 0..<300 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
               let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { port = p; break }
            usleep(20_000)
        }
        guard port > 0 else {
            kill(pid, SIGKILL)
            throw Missing(description: "mixerai-sandbox did not start")
        }
        self.port = port
    }

    /// The `[mixerai]` section of a mixer-sync config for this sandbox (the password file named
    /// `mixerai-password`, beside the config).
    public var configSection: String {
        """
        [mixerai]
        url = "http://127.0.0.1:\(port)"
        supabase_url = "http://127.0.0.1:\(port)"
        supabase_anon_key = "sandbox-anon-key"
        supabase_project_ref = "sandbox"
        service_email = "mixer-sync@example.com"
        service_password_file = "mixerai-password"
        """
    }

    public func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<250 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }

    deinit { kill(pid, SIGKILL); var s: Int32 = 0; _ = waitpid(pid, &s, WNOHANG) }
}

/// One HTTP exchange over a fresh TCP connection (HTTP/1.1, Connection: close), with full control over
/// headers and cookies, and a way to see a dropped connection.
public struct HTTPResult {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// The connection closed before the promised body arrived.
    public var truncated: Bool

    public func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    public func headers(_ name: String) -> [String] { headers.filter { $0.0 == name.lowercased() }.map(\.1) }
    public var json: JSONValue? { JSONValue.parse(body) }
    public var setCookies: [String: String] {
        var out: [String: String] = [:]
        for value in headers("set-cookie") {
            let pair = value.split(separator: ";")[0]
            if let eq = pair.firstIndex(of: "=") { out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...]) }
        }
        return out
    }
}

public enum HTTP {
    public static func send(port: Int, _ method: String, _ target: String, headers: [String: String] = [:],
                     body: String? = nil) throws -> HTTPResult {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw SandboxProcess.Missing(description: "connect failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        let payload = Data((body ?? "").utf8)
        if body != nil { text += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
        text += "\r\n"
        let request = Data(text.utf8) + payload
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else {
            return HTTPResult(status: 0, headers: [], body: Data(), truncated: true)
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        let fields = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let bodyData = Data(response[split.upperBound...])
        let expected = fields.first { $0.0 == "content-length" }.flatMap { Int($0.1) }
        return HTTPResult(status: status, headers: fields, body: bodyData, truncated: expected.map { bodyData.count < $0 } ?? false)
    }
}

/// A signed-in client of the sandbox: the session cookie, a CSRF pair, and an app session, as a browser keeps them.
public struct SandboxClient {
    public let port: Int
    public var cookies: [String: String] = [:]

    public init(port: Int) { self.port = port }

    public static func signIn(port: Int, email: String = "mixer-sync@example.com", password: String = "sandbox-password",
                       cookieForm: String = "base64") throws -> SandboxClient {
        let login = try HTTP.send(port: port, "POST", "/auth/v1/token?grant_type=password",
                                  headers: ["apikey": "sandbox-anon-key"],
                                  body: JSONValue.object(["email": .string(email), "password": .string(password)]).text())
        guard login.status == 200, let session = login.json else {
            throw SandboxProcess.Missing(description: "login failed: \(login.status)")
        }
        var client = SandboxClient(port: port)
        let raw = session.text()
        switch cookieForm {
        case "raw": client.cookies["sb-sandbox-auth-token"] = raw
        case "chunked":
            let value = "base64-" + Data(raw.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let mid = value.index(value.startIndex, offsetBy: value.count / 2)
            client.cookies["sb-sandbox-auth-token.0"] = String(value[..<mid])
            client.cookies["sb-sandbox-auth-token.1"] = String(value[mid...])
        default:
            client.cookies["sb-sandbox-auth-token"] = "base64-" + Data(raw.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        client.cookies["csrf-token"] = "test-csrf-token"
        return client
    }

    @discardableResult
    public mutating func send(_ method: String, _ path: String, _ body: JSONValue? = nil, csrf: Bool = true) throws -> HTTPResult {
        var headers = ["Cookie": cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        if csrf, let token = cookies["csrf-token"] { headers["x-csrf-token"] = token }
        let result = try HTTP.send(port: port, method, path, headers: headers, body: body?.text())
        for (name, value) in result.setCookies { cookies[name] = value }
        return result
    }
}

extension SandboxProcess {
    public func hook(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        try HTTP.send(port: port, method, "/__sandbox/" + path, body: body?.text()).json ?? .null
    }

    public func user(email: String) throws -> JSONValue? {
        try hook("GET", "state")["users"]?.array?.first { $0["email"]?.string == email }
    }
}
