import ArgumentParser
import Daemon
import Foundation
import Logging

/// `mixer-sync run`: the daemon (under systemd: `Type=notify`).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The daemon: full reconciles on [daemon].full_sync_interval, the directory's change feed "
            + "between them (offboarding within a second), one durable write queue; SIGHUP reloads a validated config, SIGTERM stops after the in-flight call. Exit 0 on SIGTERM · 1 when it cannot start.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        let level = ProcessInfo.processInfo.environment["MIXER_SYNC_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        do {
            try await DaemonRuntime.run(config: config, configPath: global.configPath, logLevel: level)
            // Everything durable is committed and every service has ended. Leave now, without the process's exit
            // handlers: a worker thread still winding down (a cancelled timer, the runtime's caches) racing the
            // C libraries' global destructors crashed the exit now and then (SIGSEGV after a clean stop).
            fflush(nil)  // every C stream
            _exit(0)
        } catch let error as RunError {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }
}
