import ArgumentParser
import Config

/// `mixer-sync check-config`: validates the file and the secret files it names, without any network.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and the secrets it names (no network). Exit 0 valid, 1 not.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        let (errors, warnings) = ConfigLoader.checkSecrets(config)
        for warning in warnings { Terminal.warn(warning) }
        for error in errors { Terminal.error("config error: \(config.file): \(error)") }
        guard errors.isEmpty else { throw ExitCode(1) }
        if config.mixerai == nil {
            Terminal.warn("no [mixerai] section: test-query works, but plan and apply will refuse to run")
        }
        if let s = config.supabase {
            print(s.bans ? "[supabase]: offboardings ban sign-in for \(s.banDuration) before MixerAI's writes (key: \(s.serviceRoleKeyFile))"
                  : "[supabase]: on_offboard = \"none\": offboardings do not ban sign-in")
        } else {
            Terminal.warn("no [supabase] section: an offboarding deactivates and strips, but the person can still sign in")
        }
        if let scim = config.scim {
            print("\(config.file): valid (source scim: the bridge on \(scim.tls ? "https" : "http")://\(scim.listen)/scim/v2, "
                  + "\(scim.tokenFiles.count) token file(s), \(config.roles.count) role mapping(s))")
        } else {
            print("\(config.file): valid (\(config.directory.users.count) user rule(s), \(config.roles.count) role mapping(s))")
        }
    }
}
