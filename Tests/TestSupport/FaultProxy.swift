import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP fault proxy on 127.0.0.1 in front of a local port (slapd, the sandbox): it passes bytes through, or cuts
/// or resets each connection after the server sent N bytes, delays every chunk, or accepts and never answers.
/// The mode can change while it runs; it counts connections and bytes so a test can prove what reached the server.
public final class FaultProxy: @unchecked Sendable {
    public enum Mode: Sendable, Equatable {
        case pass
        /// Close the connection cleanly (FIN) once the server has sent this many bytes to the client.
        case cutAfter(Int)
        /// Abort the connection (RST: SO_LINGER 0) once the server has sent this many bytes to the client.
        case resetAfter(Int)
        /// Hold every chunk this many milliseconds before passing it on.
        case delay(Int)
        /// Accept and never answer (no connection to the server is made); connections already open go silent for
        /// good in both directions (their bytes are read and dropped, as beyond a partition).
        case blackHole
    }

    public let port: Int
    public let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var currentMode: Mode
    private var stopped = false
    private var counts = (connections: 0, toServer: 0, toClient: 0)

    public init(targetPort: Int, mode: Mode = .pass) throws {
        self.targetPort = targetPort
        currentMode = mode
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw SandboxProcess.Missing(description: "the fault proxy cannot listen on 127.0.0.1")
        }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fault-proxy.accept"
        thread.start()
    }

    public var mode: Mode {
        get { lock.lock(); defer { lock.unlock() }; return currentMode }
        set { lock.lock(); currentMode = newValue; lock.unlock() }
    }

    /// Connections accepted, bytes passed to the server, bytes passed to the client.
    public var traffic: (connections: Int, toServer: Int, toClient: Int) {
        lock.lock(); defer { lock.unlock() }; return counts
    }

    /// One proxied connection. Ending it shuts both sockets down, which wakes the other direction's blocked read;
    /// the descriptors are closed only when both directions have left (closing one that another thread still reads
    /// would let a new connection reuse its number and the old thread steal that connection's bytes).
    private final class Pair: @unchecked Sendable {
        let client: Int32
        let server: Int32
        private let lock = NSLock()
        private var closed = false
        private var pumps = 2
        /// Black-holed once: every later byte either way is dropped.
        var holed: Bool {
            get { lock.withLock { isHoled } }
            set { lock.withLock { isHoled = newValue } }
        }
        private var isHoled = false
        init(client: Int32, server: Int32) { self.client = client; self.server = server }

        /// Ends the connection: `reset` aborts the client side (RST once the descriptor is closed: SO_LINGER 0).
        func close(reset: Bool = false) {
            lock.lock()
            defer { lock.unlock() }
            guard !closed else { return }
            closed = true
            if reset {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                shutdown(client, Int32(SHUT_RD))  // wakes the reader; sends nothing, so the close still resets
            } else {
                shutdown(client, Int32(SHUT_RDWR))
            }
            shutdown(server, Int32(SHUT_RDWR))
        }

        /// A direction has stopped using the sockets; the last one closes them.
        func leave() {
            let last = lock.withLock { () -> Bool in
                pumps -= 1
                return pumps == 0
            }
            if last {
                Glibc.close(client)
                Glibc.close(server)
            }
        }
    }

    private var pairs: [Pair] = []
    private var held: [Int32] = []

    /// Closes the listener and every connection.
    public func stop() {
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        stopped = true
        let open = pairs, holes = held
        pairs = []
        held = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for pair in open { pair.close() }
        for fd in holes { close(fd) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            if stopped { lock.unlock(); close(client); return }
            counts.connections += 1
            let mode = currentMode
            if mode == .blackHole { held.append(client) }  // held open, never read, never answered
            lock.unlock()
            if mode == .blackHole { continue }
            let server = connectToTarget()
            guard server >= 0 else { close(client); continue }
            let pair = Pair(client: client, server: server)
            lock.lock()
            pairs.append(pair)
            lock.unlock()
            Thread { [self] in pump(pair, towardsServer: true) }.start()
            Thread { [self] in pump(pair, towardsServer: false) }.start()
        }
    }

    private func connectToTarget() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(targetPort).bigEndian)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return -1 }
        return fd
    }

    /// Copies one direction until either side closes; the server-to-client direction applies the mode.
    private func pump(_ pair: Pair, towardsServer: Bool) {
        let (source, sink) = towardsServer ? (pair.client, pair.server) : (pair.server, pair.client)
        var buffer = [UInt8](repeating: 0, count: 16384)
        var passed = 0
        var reset = false
        defer {
            pair.close(reset: reset)
            lock.lock()
            pairs.removeAll { $0 === pair }
            lock.unlock()
            pair.leave()
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            if mode == .blackHole { pair.holed = true }
            if pair.holed { continue }
            var count = n
            var ends = false
            if !towardsServer {
                switch mode {
                case .delay(let ms): usleep(useconds_t(ms) * 1000)
                case .cutAfter(let limit):
                    if passed + n >= limit { count = max(0, limit - passed); ends = true }
                case .resetAfter(let limit):
                    if passed + n >= limit { count = max(0, limit - passed); ends = true; reset = true }
                default: break
                }
            }
            if count > 0, !writeAll(sink, buffer, count) { return }
            passed += count
            lock.lock()
            if towardsServer { counts.toServer += count } else { counts.toClient += count }
            lock.unlock()
            if ends { return }
        }
    }

    private func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
