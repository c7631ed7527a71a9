import ArgumentParser
import Daemon
import Foundation
import State

/// `mixer-sync approve HASH`: releases one held plan, once.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Release one held plan, once, by its plan_hash. Exit 0 · 1 unknown or already used hash.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The plan_hash a held run reported (sha256:…).")
    var hash: String

    func run() throws {
        let config = try global.load()
        do {
            let store = try config.openState()
            switch try store.approve(planHash: hash, at: Date()) {
            case .approved:
                print("approved \(hash): the next apply that computes exactly this plan applies it, once")
            case .unknown:
                Terminal.error("no held plan has the hash \(hash)")
                throw ExitCode(1)
            case .alreadyApproved:
                Terminal.error("\(hash) was already approved; an approval releases a plan once")
                throw ExitCode(1)
            }
        } catch let error as StateError {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }
}
