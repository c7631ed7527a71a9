import ArgumentParser
import Daemon
import Foundation

/// `mixer-sync status [--json]`: last runs, escrow, held plans, the last known write budget. Reads local state only.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Last runs, escrow, held plans and the write budget, from local state (no network). Exit 0.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object for machines.")
    var json = false

    func run() throws {
        let config = try global.load()
        let status: StatusReport
        do {
            status = try StatusReport.read(config: config)
        } catch {
            Terminal.error("status: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try status.json(), as: UTF8.self))
        } else {
            print(status.text())
        }
    }
}
