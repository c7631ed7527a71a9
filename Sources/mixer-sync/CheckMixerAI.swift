import ArgumentParser
import Config
import CurlHTTP
import Daemon
import Foundation
import MixerAI
import Secrets

/// `mixer-sync check-mixerai`: signs in as the service account, checks both admin notions, and reads every
/// user and brand (list and brands only: no write budget spent).
struct CheckMixerAI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-mixerai",
        abstract: "Sign in to MixerAI, check the service account's rights, count users and brands (no writes). Exit 0 · 1.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object for machines.")
    var json = false

    func run() async throws {
        let config = try global.load()
        guard let settings = config.mixerai else {
            Terminal.error("config error: \(config.file): the [mixerai] section is required for this command")
            throw ExitCode(1)
        }
        do {
            let client = try MixerAIClient(connection: try MixerAISession.connection(settings, stateDirectory: config.state.directory))
            let started = ContinuousClock.now
            let me = try await client.me()
            let users = try await client.listUsers()
            let brands = try await client.listBrands()
            // [supabase]: the service-role key is proved with a read that changes nothing (one user of the first page).
            var supabase: [String: Any]?
            if let s = config.supabase {
                let revoker = try GoTrueRevoker(s)
                let total = try await revoker.probe()
                supabase = ["ok": true, "bans": s.bans, "ban_duration": s.banDuration, "auth_users": total as Any]
            }
            let elapsed = ContinuousClock.now - started
            let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            let inactive = users.filter(\.isInactive).count
            let pending = users.filter(\.isPending).count
            if json {
                var object: [String: Any] = ["ok": true, "service_account": me.email, "users": users.count,
                                             "inactive": inactive, "pending": pending, "brands": brands.count,
                                             "duration_ms": ms]
                object["supabase"] = supabase ?? NSNull()
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("signed in as \(me.email): both admin notions present")
                print("users: \(users.count) (\(inactive) deactivated, \(pending) never signed in), brands: \(brands.count), \(ms) ms")
                if let s = config.supabase {
                    print("supabase: the service-role key works (read one user of \(supabase?["auth_users"] as? Int ?? 0), changed nothing); "
                          + (s.bans ? "offboardings ban sign-in for \(s.banDuration)" : "on_offboard = \"none\": no bans"))
                } else {
                    print("supabase: no [supabase] section: offboarded people can still sign in (docs/revocation.md)")
                }
            }
        } catch {
            Terminal.error("check-mixerai failed: \(error)")
            throw ExitCode(1)
        }
    }
}
