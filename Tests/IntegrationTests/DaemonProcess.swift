import Foundation
import Sandbox
import Testing
import TestSupport

/// `mixer-sync run` for a world, as a child process logging to a file in the world's folder.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    convenience init(_ world: World, environment: [String: String] = [:], logName: String = "daemon.log") throws {
        try self.init(config: world.config, folder: world.folder, environment: environment, logName: logName)
    }

    init(config: String, folder: String, environment: [String: String] = [:], logName: String = "daemon.log") throws {
        process.executableURL = URL(fileURLWithPath: try TestDirectory.env("MIXER_SYNC_BIN"))
        process.arguments = ["run", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env["MIXER_SYNC_LOG_LEVEL"] = "debug"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        log = folder + "/" + logName
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var text: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var pid: pid_t { process.processIdentifier }

    /// Waits until the log holds `needle` `count` times (or the time runs out).
    func waitForLog(_ needle: String, count: Int = 1, seconds: Double) async -> Bool {
        await Self.until(seconds: seconds) { self.text.components(separatedBy: needle).count - 1 >= count }
    }

    /// SIGTERM, then waits for the exit: the exit status, or nil if it did not stop within `seconds`.
    func terminate(seconds: Double = 10) async -> Int32? {
        kill(pid, SIGTERM)
        guard await Self.until(seconds: seconds, { !self.process.isRunning }) else {
            if ProcessInfo.processInfo.environment["MIXER_SYNC_DEBUG_HANG"] != nil {
                _ = try? CommandLineTests.runShell("gdb -p \(pid) -batch -ex 'thread apply all bt 40' > \(log).gdb 2>&1")
            }
            return nil
        }
        // Every report the daemon wrote (full runs, change-feed passes) keeps the report contract.
        var none: Set<String> = []
        let reports = (log as NSString).deletingLastPathComponent + "/reports"
        let violations = (try? World.reportViolations(folder: reports, validated: &none)) ?? ["docs/report.schema.json unreadable"]
        #expect(violations.isEmpty, "reports that break docs/report.schema.json:\n\(violations.joined(separator: "\n"))")
        return process.terminationStatus
    }

    func kill9() async {
        kill(pid, SIGKILL)
        _ = await Self.until(seconds: 10) { !self.process.isRunning }
    }

    deinit { if process.isRunning { kill(pid, SIGKILL) } }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass. The condition blocks (HTTP to the sandbox,
    /// file reads), so it runs on a dispatch queue: Swift's two cooperative threads stay free for the other tests.
    static func until(seconds: Double, _ condition: @escaping @Sendable () throws -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        func check() async -> Bool {
            await withCheckedContinuation { k in
                DispatchQueue.global().async { k.resume(returning: (try? condition()) == true) }
            }
        }
        while Date() < deadline {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await check()
    }
}

extension World {
    /// A config block for a daemon test: full runs far apart (only the feed can act between them), metrics on a
    /// free port, gates open for small worlds.
    static func daemonConfig(interval: String = "1h") -> String {
        "\n[daemon]\nfull_sync_interval = \"\(interval)\"\nmetrics_listen = \"127.0.0.1:\(DaemonProcessTests.freePort())\"\n"
    }

    /// Requests of the sandbox's log (method, path prefix), in the order they arrived.
    func requests(_ method: String, _ prefix: String) throws -> [JSONValue] {
        (try sandbox.hook("GET", "requests")["requests"]?.array ?? []).filter {
            $0["method"]?.string == method && ($0["path"]?.string ?? "").hasPrefix(prefix)
        }
    }

    /// Whether the sandbox shows this user deactivated (`user_metadata.status = inactive`).
    func isInactive(_ email: String) throws -> Bool {
        guard let u = try users()[email] else { return false }
        return u["status"]?.string == "inactive" || u["user_metadata"]?["status"]?.string == "inactive"
    }

    func disable(_ uid: String) throws {
        try ldap("dn: \(dn(uid))\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated")
    }
}
