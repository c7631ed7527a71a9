import ArgumentParser
import Config
import CurlHTTP
import Foundation
import LDAPClient
import Logging

/// `mixer-sync`: keeps MixerAI's users and roles in line with the LDAP directory.
@main
struct MixerSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer-sync",
        abstract: "Keep MixerAI's users and roles in line with the company's LDAP directory.",
        usage: "mixer-sync [--config FILE] <command> [options]",
        discussion: "--config FILE (or $MIXER_SYNC_CONFIG; default /etc/mixer-sync/mixer-sync.toml) may stand before the command or after it.",
        version: VersionText.full,
        subcommands: [PlanCommand.self, ApplyCommand.self, RunCommand.self, ApproveCommand.self, ExplainCommand.self, StatusCommand.self,
                      TestQuery.self, CheckConfig.self, CheckMixerAI.self, StateCommand.self]
    )

    /// libcurl's global initialisation comes before anything else runs.
    static func main() async {
        CurlGlobal.initialize()
        // Logs go to stderr, one line each (journald keeps them under the unit).
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        await main(configFirst(arguments()))
    }

    /// `mixer-sync [--config FILE] <command>` as the README, docs/commands.md and the man page say: a `--config` given before the
    /// command is moved after it, where the command's own option parser reads it (ArgumentParser reads options
    /// only within the command that declares them). After the command it is read as it is.
    static func configFirst(_ arguments: [String]) -> [String] {
        let commands = Set(configuration.subcommands.map { $0._commandName })
        var leading: [String] = []
        var index = 0
        while index < arguments.count, !commands.contains(arguments[index]) {
            if arguments[index] == "--config", index + 1 < arguments.count {
                leading += arguments[index...index + 1]
                index += 2
            } else if arguments[index].hasPrefix("--config=") {
                leading.append(arguments[index])
                index += 1
            } else {
                return arguments  // something else first (--help, --version, a mistake): ArgumentParser answers it
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }

    /// The arguments after the program name. Swift's runtime captures argv when the process starts; under an
    /// LD_PRELOAD shim (libfaketime, used to test clock skew) it may capture none, and the command would silently
    /// become `mixer-sync` with no subcommand: the kernel's copy in /proc/self/cmdline is read instead.
    static func arguments() -> [String] {
        if !CommandLine.arguments.isEmpty { return Array(CommandLine.arguments.dropFirst()) }
        guard let data = FileManager.default.contents(atPath: "/proc/self/cmdline") else { return [] }
        return Array(data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .dropFirst().dropLast(data.last == 0 ? 1 : 0))
    }
}

/// `mixer-sync --version`: this build, and the C libraries it runs with (they come from the system).
enum VersionText {
    static let number = "0.1.0"
    static var full: String {
        "mixer-sync \(number)\nlibldap \(LDAPLibrary.version) (TLS: \(LDAPLibrary.tlsPackage))\n"
            + "libcurl \(CurlLibrary.version) (TLS: \(CurlLibrary.tlsBackend))"
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (also $MIXER_SYNC_CONFIG).", valueName: "FILE"))
    var config: String?

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["MIXER_SYNC_CONFIG"] ?? ConfigLoader.defaultPath
    }

    /// Loads the configuration or prints the error (file, line, key) and exits 1.
    func load() throws -> MixerSyncConfig {
        do {
            let loaded = try ConfigLoader.load(path: configPath)
            for warning in loaded.warnings { Terminal.warn(warning) }
            return loaded
        } catch let error as ConfigError {
            Terminal.error("config error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// stderr output, one line each.
enum Terminal {
    static func warn(_ text: String) { write("warning: \(text)\n") }
    static func error(_ text: String) { write("\(text)\n") }
    static func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
    /// Progress of a long run, on stderr; quiet unless stderr is a terminal or MIXER_SYNC_PROGRESS=1.
    static let progress: @Sendable (String) -> Void = { line in
        if isatty(2) == 1 || ProcessInfo.processInfo.environment["MIXER_SYNC_PROGRESS"] == "1" { write("· \(line)\n") }
    }
}
