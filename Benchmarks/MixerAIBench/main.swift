import CurlHTTP
import Foundation
import MixerAI
import Secrets

// mixerai-bench: drives the real MixerAI client against a sandbox for Benchmarks/mixerai-client.sh.
//   mixerai-bench budget URL WRITES LIMIT WINDOW   → N writes; prints elapsed, theoretical time, 429s
//   mixerai-bench list URL                         → lists every user; prints count and seconds

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: mixerai-bench budget URL WRITES LIMIT WINDOW | list URL\n".utf8))
    exit(2)
}
let url = args[2]
let connection = MixerAIConnection(baseURL: url, supabaseURL: url, anonKey: Secret(bytes: Array("sandbox-anon-key".utf8)),
                                   projectRef: "sandbox", serviceEmail: "mixer-sync@example.com",
                                   servicePassword: Secret(bytes: Array("sandbox-password".utf8)))
let client = try MixerAIClient(connection: connection)
switch args[1] {
case "budget":
    let writes = Int(args[3])!, limit = Int(args[4])!, window = Double(args[5])!
    let users = try await client.listUsers()
    guard let target = users.first(where: { $0.email == "user00010@example.com" }) else { fatalError("no target user") }
    let started = Date()
    for i in 0..<writes {
        if i % 2 == 0 { try await client.deactivate(userId: target.id) } else { try await client.reactivate(userId: target.id) }
    }
    let elapsed = Date().timeIntervalSince(started)
    let theoretical = Double((writes + limit - 1) / limit - 1) * window
    print(String(format: "writes %d in %.2f s, theoretical minimum %.2f s", writes, elapsed, theoretical))
    print(String(format: "budget used: %.2f, 429s: %d", theoretical / elapsed, await client.budget.refusals))
case "list":
    _ = try await client.listBrands()  // sign in outside the timing
    let started = Date()
    let users = try await client.listUsers()
    print(String(format: "users %d seconds %.3f", users.count, Date().timeIntervalSince(started)))
default:
    exit(2)
}
