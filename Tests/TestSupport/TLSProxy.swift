import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TLS terminator in front of a plain local port (Debian's socat), so HTTPS can be tested against the sandbox
/// with a test CA. Binds `host` (a loopback address), stopped by PID.
public final class TLSProxy: @unchecked Sendable {
    public let pid: pid_t
    public let port: Int

    public init(host: String = "127.0.0.1", targetPort: Int, certificate: String, key: String) throws {
        let port = try Self.freePort(host: host)
        let argv = ["/usr/bin/socat",
                    "OPENSSL-LISTEN:\(port),bind=\(host),reuseaddr,fork,cert=\(certificate),key=\(key),verify=0",
                    "TCP:127.0.0.1:\(targetPort)"]
        var pid: pid_t = 0
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The refusals this proxy sees are the point of the tests; keep socat's log out of the test output.
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        guard posix_spawn(&pid, argv[0], &actions, nil, cargs, environ) == 0 else {
            throw SandboxProcess.Missing(description: "cannot start socat (scripts/setup installs it)")
        }
        self.pid = pid
        self.port = port
        // Wait until it accepts connections.
        for _ in 0..<100 {
            if Self.canConnect(host: host, port: port) { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        throw SandboxProcess.Missing(description: "socat did not start on \(host):\(port)")
    }

    /// SIGKILL: socat's parent ignores SIGTERM while a forked child still serves a kept-alive connection.
    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    static func freePort(host: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(host)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw SandboxProcess.Missing(description: "no free port on \(host)") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func canConnect(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(host)
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    deinit { kill(pid, SIGKILL) }
}
