import Foundation
import Sandbox
import Testing
import TestSupport

/// `mixer-sync run` as systemd runs it: a child process with a notify socket of the test's own.
@Suite(.serialized) struct DaemonProcessTests {
    /// A unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`, drained all the time by a thread of its
    /// own (as systemd does: a full queue would make the daemon drop its messages).
    final class NotifyListener: @unchecked Sendable {
        let path: String
        let fd: Int32
        private let lock = NSLock()
        private var messages: [String] = []
        var received: [String] { lock.lock(); defer { lock.unlock() }; return messages }

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, rc == 0 else { throw World.Failure(description: "cannot bind \(path)") }
            let socketFD = self.fd
            Thread.detachNewThread { [weak self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = recv(socketFD, &buffer, buffer.count, 0)
                    guard n > 0, let self else { return }
                    self.lock.lock()
                    self.messages.append(String(decoding: buffer.prefix(n), as: UTF8.self))
                    self.lock.unlock()
                }
            }
        }

        /// Waits until a received message contains `text` (or the time runs out).
        func wait(for text: String, seconds: Double) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if received.contains(where: { $0.contains(text) }) { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return received.contains { $0.contains(text) }
        }

        deinit {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            unlink(path)
        }
    }

    /// A port nobody listens on now (bound to 0, read, closed).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length); return getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func readyWatchdogReloadSingleInstanceAndAQuickCleanStop() async throws {
        let people = (1...3).map { World.Person("r\($0)") }
        let w = try World(people: people, groups: ["editors": people.map(\.uid)],
                          extraConfig: "\n[daemon]\nfull_sync_interval = \"2s\"\nmetrics_listen = \"127.0.0.1:\(Self.freePort())\"\n")
        let notify = try NotifyListener()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestDirectory.env("MIXER_SYNC_BIN"))
        process.arguments = ["run", "--config", w.config]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["WATCHDOG_USEC"] = "1000000"
        process.environment = env
        let log = w.folder + "/daemon.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        #expect(await notify.wait(for: "READY=1", seconds: 30), "READY: \(notify.received)")
        #expect(await notify.wait(for: "STATUS=last run", seconds: 60), "a full run reported: \(notify.received)")
        #expect(await notify.wait(for: "WATCHDOG=1", seconds: 10))
        let users = try w.users()
        for p in people { #expect(users[p.mail!] != nil, "the full run invited \(p.uid)") }

        // The metrics endpoint answers in Prometheus text on loopback.
        let port = try #require(Int(try String(contentsOfFile: w.config, encoding: .utf8)
            .components(separatedBy: "metrics_listen = \"127.0.0.1:")[1].prefix { $0.isNumber }))
        let metrics = try HTTP.send(port: port, "GET", "/metrics")
        let exposition = String(decoding: metrics.body, as: UTF8.self)
        #expect(metrics.status == 200)
        #expect(exposition.contains("mixer_sync_runs_total"), "\(exposition)")
        #expect(exposition.contains("mixer_sync_phase_duration_seconds"))
        #expect(exposition.contains("mixer_sync_changes_total"))
        #expect(try HTTP.send(port: port, "GET", "/other").status == 404)

        // One mixer-sync per state directory: an apply from the command line is refused meanwhile.
        let cli = try await w.run("apply")
        #expect(cli.status == 1)
        #expect(cli.stderr.contains("another mixer-sync") || (cli.report["errors"] as? [String])?.first?.contains("another mixer-sync") == true)

        // A dry run beside the daemon works, and says it left the journal to the daemon.
        let dry = try await w.run("plan")
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        // Its own report (latest.json may already be the daemon's next run).
        let ownReport = try #require(dry.stdout.split(separator: "\n").first { $0.hasPrefix("report: ") && $0.hasSuffix(".json") })
        let reportData = try Data(contentsOf: URL(fileURLWithPath: String(ownReport.dropFirst("report: ".count))))
        let warnings = (try JSONSerialization.jsonObject(with: reportData) as? [String: Any])?["warnings"] as? [String]
        #expect(warnings?.contains { $0.contains("another mixer-sync") } == true, "\(warnings ?? [])")

        // A broken configuration on SIGHUP is refused; the daemon goes on with the old one.
        let good = try String(contentsOfFile: w.config, encoding: .utf8)
        try (good + "\n[bogus]\nkey = 1\n").write(toFile: w.config, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .seconds(1))
        #expect(process.isRunning)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("configuration reload refused"), "\(text)")
        try good.write(toFile: w.config, atomically: true, encoding: .utf8)

        // SIGTERM: a clean stop, exit 0, well inside the unit's TimeoutStopSec (90 s) — not the 60 s graceful
        // maximum run out (a starved CI machine took 5.4 s here once).
        let stopAsked = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning && ContinuousClock.now - stopAsked < .seconds(40) { try await Task.sleep(for: .milliseconds(20)) }
        let took = ContinuousClock.now - stopAsked
        #expect(!process.isRunning)
        #expect(!process.isRunning && process.terminationStatus == 0, "status \(process.terminationStatus) reason \(process.terminationReason.rawValue): \(String((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(3000) ?? ""))")
        #expect(took < .seconds(30), "stopped in \(took)")
        #expect(await notify.wait(for: "STOPPING=1", seconds: 2))
        #expect(!(try String(contentsOfFile: log, encoding: .utf8)).contains(w.mixerPassword))
    }
}
