import ArgumentParser
import Config
import Foundation
import State

/// `mixer-sync state migrate --to postgresql|sqlite`: copies the state between the two backends the configuration
/// names (`[state] directory` for SQLite, `[state] url` for PostgreSQL), counts and hashes every table on both
/// sides, and fails unless they match. The target must be empty; stop the daemons first.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "The state's own maintenance.", subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy the state to the other backend; per-table counts and hashes compared. Exit 0 · 1 mismatch or error.")

        enum Target: String, ExpressibleByArgument, CaseIterable { case postgresql, sqlite }

        @OptionGroup var global: GlobalOptions

        @Option(help: "Where the state goes: postgresql (from the SQLite file under [state] directory) or sqlite (back).")
        var to: Target

        func run() throws {
            let config = try global.load()
            guard let target = config.state.postgres else {
                Terminal.error("state migrate needs both backends named: [state] backend = \"postgresql\" with url and "
                               + "password_file, and [state] directory for the SQLite file")
                throw ExitCode(1)
            }
            do {
                // No daemon on this host may run meanwhile (the target must stay as copied).
                let lock = try StateLock(directory: config.state.directory)
                defer { withExtendedLifetime(lock) {} }
                let sqlite = try StateStore(directory: config.state.directory)
                let postgres = try StateStore(postgres: try config.postgresSettings(target))
                let (from, into) = to == .postgresql ? (sqlite, postgres) : (postgres, sqlite)
                print("copying \(from.path) → \(into.path)")
                let figures = try StateCopy.copy(from: from, to: into)
                for f in figures {
                    let name = f.table.padding(toLength: 14, withPad: " ", startingAt: 0)
                    print("  \(name)" + String(format: "%8d", f.sourceRows) + " rows \(f.sourceHash)  →  "
                          + String(format: "%8d", f.targetRows) + " rows \(f.targetHash)  \(f.matches ? "ok" : "MISMATCH")")
                }
                postgres.disconnect()
                guard figures.allSatisfy(\.matches) else {
                    Terminal.error("the copy does not match its source")
                    throw ExitCode(1)
                }
                print("state migrated: \(figures.map(\.sourceRows).reduce(0, +)) rows in \(figures.count) tables, every count and hash equal")
            } catch let error as StateError {
                Terminal.error("\(error)")
                throw ExitCode(1)
            }
        }
    }
}
