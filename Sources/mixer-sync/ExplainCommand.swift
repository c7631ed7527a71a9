import ArgumentParser
import Daemon
import Foundation

/// `mixer-sync explain WHO`: the chain from directory entry to decision for one person.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "The decision chain for one person (email or anchor): entry, rules, groups and paths, roles, match, decision. Exit 0 · 1 unknown.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "An email or a directory anchor.")
    var who: String

    func run() async throws {
        let config = try global.load()
        do {
            guard let lines = try await Reconciler(config: config).explain(who) else {
                Terminal.error("\(who): no directory person and no MixerAI account with this email or anchor")
                throw ExitCode(1)
            }
            for line in lines { print(line) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Terminal.error("explain failed: \(error)")
            throw ExitCode(1)
        }
    }
}
