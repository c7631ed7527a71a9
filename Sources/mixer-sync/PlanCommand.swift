import ArgumentParser
import Config
import Daemon
import Foundation
import Report

/// `mixer-sync plan [--out PLAN]`: the dry run.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Dry run: read both sides, write the report and the plan file. Exit 0 in sync · 2 changes pending · 3 held · 1 error.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Write the plan file here (default: STATE/plans/<run-id>.json and STATE/plans/latest.json).",
                               valueName: "PLAN"))
    var out: String?

    func run() async throws {
        let config = try RunSummary.load(global, mode: .dryRun)
        var reconciler = Reconciler(config: config)
        reconciler.log = Terminal.progress
        reconciler.keepUntilExit = true
        let outcome = await reconciler.plan(out: out)
        RunSummary.print(outcome)
        throw ExitCode(outcome.exitCode)
    }
}

/// `mixer-sync apply [PLAN]`.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a saved plan (refused if either side changed since) or plan and apply now. "
            + "Exit 0 applied or nothing to do · 3 held · 4 items left in escrow · 1 error.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A plan file written by `plan`.", valueName: "PLAN"))
    var plan: String?

    func run() async throws {
        let config = try RunSummary.load(global, mode: .apply)
        var reconciler = Reconciler(config: config)
        reconciler.log = Terminal.progress
        reconciler.keepUntilExit = true
        if let wait = ProcessInfo.processInfo.environment["MIXER_SYNC_MAX_BUDGET_WAIT"].flatMap(Double.init) {
            reconciler.maxBudgetWait = wait
        }
        let outcome = await reconciler.apply(planPath: plan)
        RunSummary.print(outcome)
        throw ExitCode(outcome.exitCode)
    }
}

/// What `plan` and `apply` print: one summary on stdout, the report's paths, and how to go on.
enum RunSummary {
    /// The configuration; when it cannot be loaded (the error is on stderr), the one-line outcome is still
    /// printed on stdout: scripts read it whatever the exit code.
    static func load(_ global: GlobalOptions, mode: RunMode) throws -> MixerSyncConfig {
        do {
            return try global.load()
        } catch {
            Swift.print("\(mode.rawValue): error · plan none")
            throw error
        }
    }

    static func print(_ outcome: Reconciler.Outcome) {
        let r = outcome.report
        for item in r.pendingOffboard where r.mode == .apply || r.held { Swift.print(PendingWork.line(item)) }
        Swift.print("\(r.mode): \(r.outcome) · plan \(r.planHash ?? "none")")
        let counts = r.counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        Swift.print("changes: \(r.changes.count)\(counts.isEmpty ? "" : " (" + counts.joined(separator: ", ") + ")") · "
                    + "writes \(r.queue.writes)\(r.queue.etaSeconds.map { $0 > 0 ? ", ETA \($0) s under the write budget" : "" } ?? "")")
        for gate in r.gates where gate.verdict == .hold { Swift.print("HOLD \(gate.name): \(gate.detail)") }
        if r.held, let hash = r.planHash { Swift.print("held: review the report, then `mixer-sync approve \(hash)` releases exactly this plan once") }
        for e in r.errors { Terminal.error("error: \(e)") }
        for p in outcome.reportPaths { Swift.print("report: \(p)") }
        if let plan = r.planFile, r.mode == .dryRun { Swift.print("plan: \(plan)") }
    }
}
