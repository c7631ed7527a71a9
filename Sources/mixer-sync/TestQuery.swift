import ArgumentParser
import Config
import Directory
import Foundation
import Reconcile

/// `mixer-sync test-query [RULE]`: runs the search rules and shows what mixer-sync sees.
struct TestQuery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-query",
        abstract: "Run the search rules (or one), show the count, the first entries, the groups found and the "
            + "equivalent ldapsearch command. Exit 1 on an error or an incomplete read.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this [[directory.users]] rule (the leavers base is always read).")
    var rule: String?

    @Flag(help: "Print one JSON object for machines.")
    var json = false

    @Flag(help: "List every person, not only the first 10.")
    var all = false

    func run() async throws {
        let config = try global.load()
        if let rule, !config.directory.users.contains(where: { $0.name == rule }) {
            Terminal.error("unknown rule \"\(rule)\"; the rules are: \(config.directory.users.map(\.name).joined(separator: ", "))")
            throw ExitCode(1)
        }
        let reader = DirectoryReader(settings: config.directory, passwordFile: config.directory.bindPasswordFile)
        do {
            let snapshot = try await reader.read(roleGroups: config.roles.map(\.group), onlyRule: rule)
            let output = TestQueryOutput(snapshot: snapshot, all: all)
            if json {
                print(try output.json())
            } else {
                print(output.text())
            }
        } catch let failure as SnapshotFailure {
            if json {
                print(try TestQueryOutput(failure: failure).json())
            } else {
                Terminal.error("read \(failure.stage == .incomplete ? "incomplete" : "failed"): \(failure.message)")
                for search in failure.searches { Terminal.error("  completed before it: \(search.ldapsearch)") }
            }
            throw ExitCode(1)
        }
    }
}
