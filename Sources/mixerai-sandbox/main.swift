import ArgumentParser
import Foundation
import Sandbox

/// `mixerai-sandbox`: a faithful emulator of MixerAI's user API on 127.0.0.1, for tests, demos and benchmarks.
@main
struct MixerAISandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixerai-sandbox",
        abstract: "Emulate MixerAI's user API (GoTrue login, cookies, CSRF, rate limits, every /api/users route) on 127.0.0.1.",
        subcommands: [Serve.self, GenerateSeed.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the emulator (the default command).")

    @Option(help: "TCP port on 127.0.0.1; 0 picks a free one.") var port = 0
    @Option(help: "Directory of the persistent state (state.json, replaced atomically).") var state: String
    @Option(help: "Seed file used when the state directory is empty (default: the built-in seed).") var seed: String?
    @Option(help: "Write the bound port to this file once listening.") var portFile: String?
    @Option(help: "Requests per window in the `sensitive` bucket (any /api/users/ path).") var sensitiveLimit = 50
    @Option(help: "Window of the `sensitive` bucket, seconds.") var sensitiveWindow: Double = 3600
    @Option(help: "Requests per window in the `api` bucket.") var apiLimit = 600
    @Option(help: "Window of the `api` bucket, seconds.") var apiWindow: Double = 60
    @Option(help: "Lifetime of GoTrue access tokens, seconds.") var tokenTtl: Double = 3600
    @Option(help: "The <ref> of the sb-<ref>-auth-token cookie.") var projectRef = "sandbox"
    @Option(help: "The anon key GoTrue expects in the apikey header.") var anonKey = "sandbox-anon-key"
    @Option(help: "A file holding the service-role key GoTrue's admin routes expect (default: sandbox-service-role-key).")
    var serviceRoleKeyFile: String?

    func run() async throws {
        var options = SandboxOptions(stateDirectory: state)
        options.seedFile = seed
        options.sensitiveLimit = sensitiveLimit
        options.sensitiveWindow = sensitiveWindow
        options.apiLimit = apiLimit
        options.apiWindow = apiWindow
        options.tokenTTL = tokenTtl
        options.projectRef = projectRef
        options.anonKey = anonKey
        if let file = serviceRoleKeyFile {
            guard let data = FileManager.default.contents(atPath: file),
                  let key = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
                throw ValidationError("cannot read a key from \(file)")
            }
            options.serviceRoleKey = key
        }
        let store = try SandboxStore(options: options)
        let portFile = self.portFile
        try await SandboxServer.run(store: store, port: port) { bound in
            FileHandle.standardOutput.write(Data("mixerai-sandbox listening on http://127.0.0.1:\(bound)\n".utf8))
            if let portFile {
                let temp = portFile + ".tmp"
                FileManager.default.createFile(atPath: temp, contents: Data("\(bound)\n".utf8))
                rename(temp, portFile)
            }
        }
    }
}

struct GenerateSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-seed",
                                                    abstract: "Print a large seed (JSON) for benchmarks.")
    @Option(help: "Number of users.") var users = 10000
    @Option(help: "Number of brands.") var brands = 20

    func run() async throws {
        print(Seed.generated(users: users, brands: brands).json.text())
    }
}
