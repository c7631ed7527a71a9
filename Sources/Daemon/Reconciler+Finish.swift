import Foundation
import Report
import State

extension Reconciler {
    /// Writes the report, records the run, and hands back the exit code (1 when no report could be written).
    /// Done off the cooperative pool (the report's fsyncs and the state's).
    func finish(_ report: RunReport, store: StateStore?, exit: Int32) async -> Outcome {
        let done = { @Sendable in self.write(report, store: store, exit: exit) }
        if let store, let outcome = try? await store.perform({ _ in done() }) { return outcome }
        return await withCheckedContinuation { k in DispatchQueue.global().async { k.resume(returning: done()) } }
    }

    /// What the report may say of sign-in: bans are on only with `[supabase]`, and only confirmed bans count.
    func revocation(_ store: StateStore?) -> RunReport.Revocation {
        guard let s = config.supabase else { return .off("no [supabase] section") }
        guard s.bans else { return .off("[supabase] on_offboard = \"none\"") }
        let bans = (try? store?.bans(now: clock())) ?? [:]
        return .on { bans[$0]?.bannedUntil }
    }

    private func write(_ report: RunReport, store: StateStore?, exit: Int32) -> Outcome {
        var report = report
        // Offboardings still in the durable queue (from the change feed, or an earlier run) lead every report.
        if let queued = try? store?.pendingOffboards() {
            report.pendingOffboard = PendingWork.offboardings(report.pendingOffboard, queued: queued)
        }
        report.tellSignIn(revocation(store))
        var paths: [String] = []
        var writer = ReportWriter(directory: config.report.directory,
                                  formats: config.report.formats.compactMap { ReportWriter.Format(rawValue: $0.rawValue) },
                                  keep: config.report.keep)
        let mode = report.mode.rawValue
        writer.afterFile = { _ in CrashPoint.reached("mid-report-write", kind: mode) }
        do {
            paths = try writer.write(report)
        } catch {
            report.errors.append("cannot write the report: \(error)")
        }
        if report.mode == .apply {
            // The journal and the run list keep 180 days (the reports are the long-term record); full runs and
            // `apply` prune, not every change-feed pass.
            _ = try? store?.pruneHistory(before: clock().addingTimeInterval(-180 * 86400))
        }
        try? store?.recordRun(RunRecord(
            runId: report.runId, at: clock(), mode: report.mode.rawValue, outcome: report.outcome.rawValue,
            planHash: report.planHash, changes: report.changes.count, applied: report.count(.applied),
            escrow: report.count(.escrow) + report.count(.failed), report: paths.first,
            durationMs: report.timings["total_ms"] ?? 0, error: report.errors.first))
        return Outcome(report: report, exitCode: paths.isEmpty && exit == 0 ? 1 : exit, reportPaths: paths)
    }
}
