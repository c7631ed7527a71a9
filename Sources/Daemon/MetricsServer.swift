import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// The Prometheus text endpoint: `GET /metrics` on `[daemon].metrics_listen` (loopback only), served by one thread
/// with a blocking accept loop — a scrape every few seconds needs nothing more.
public struct MetricsServer: Service {
    let host: String
    let port: UInt16
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    /// `listen` is `host:port`; only loopback hosts are served (the numbers are not for the network).
    public init(listen: String, registry: PrometheusCollectorRegistry, logger: Logger) throws {
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else {
            throw RunError("metrics_listen \"\(listen)\" is not host:port")
        }
        let host = String(listen[..<colon])
        guard host == "127.0.0.1" || host == "localhost" else {
            throw RunError("metrics_listen \"\(listen)\": the metrics endpoint binds loopback only (127.0.0.1)")
        }
        self.host = "127.0.0.1"
        self.port = port
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RunError("metrics: socket failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw RunError("metrics: cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        logger.info("metrics endpoint listening", metadata: ["metrics.listen": "\(host):\(port)"])
        let registry = self.registry
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { return } }
                Self.answer(client, registry: registry)
                close(client)
            }
        }
        thread.start()
        try? await gracefulShutdown()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    static func answer(_ client: Int32, registry: PrometheusCollectorRegistry) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8](repeating: 0, count: 2048)
        let n = recv(client, &request, request.count, 0)
        guard n > 0 else { return }
        let line = String(decoding: request.prefix(n), as: UTF8.self).prefix { $0 != "\r" && $0 != "\n" }
        let response: [UInt8]
        if line.hasPrefix("GET /metrics") {
            let body = registry.emitToBuffer()
            response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        } else {
            response = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        }
        _ = response.withUnsafeBytes { send(client, $0.baseAddress, response.count, Int32(MSG_NOSIGNAL)) }
    }
}
