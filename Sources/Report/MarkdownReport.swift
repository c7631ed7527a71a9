import Reconcile

/// The report for people, as Markdown: the summary first, held gates and PENDING OFFBOARD at the top, then every
/// item with its reason, the audit, and the searches.
public enum MarkdownReport {
    public static func render(_ r: RunReport) -> String {
        var out: [String] = []
        out.append("# mixer-sync report \(r.runId)")
        out.append("")
        out.append("**\(r.mode)** · outcome **\(r.outcome)** · plan `\(r.planHash ?? "none")` · \(r.startedAt) → \(r.finishedAt)")
        out.append("")
        if r.held {
            out.append("> **HELD BY A SAFETY GATE — nothing was applied.** Review the plan below; to release exactly this plan once:")
            out.append("> `mixer-sync approve \(r.planHash ?? "")`")
            out.append("")
        }
        if let by = r.approvedBy { out.append("> Released by the approval of `\(by)`."); out.append("") }
        if !r.pendingOffboard.isEmpty {
            out.append("## PENDING OFFBOARD (\(r.pendingOffboard.count))")
            for i in r.pendingOffboard {
                out.append("- **\(i.email ?? i.mixerUserId ?? "?")** — \(i.status)\(i.statusReason.map { ": \($0)" } ?? "") — sign-in: \(i.signIn ?? "?") — \(i.reason.joined(separator: "; "))")
            }
            out.append("")
        }
        for e in r.errors { out.append("> ERROR: \(e)") }
        for w in r.warnings { out.append("> warning: \(w)") }
        if !(r.errors.isEmpty && r.warnings.isEmpty) { out.append("") }
        out.append("## Summary")
        let s = r.snapshot
        out.append("- directory: \(s.complete ? "complete" : "NOT complete") read, \(s.entries) entries, \(s.people) people, \(s.inScope) in scope, \(s.pages) pages\(s.error.map { " — \($0)" } ?? "")")
        out.append("- MixerAI: " + r.mixerai.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        out.append("- changes: " + r.counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        out.append("- write queue: \(r.queue.writes) writes\(r.queue.writesLeft.map { ", \($0) left in this window" } ?? "")\(r.queue.etaSeconds.map { ", ETA \($0) s" } ?? "")")
        out.append("- timings (ms): " + r.timings.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        out.append("")
        out.append("## Gates")
        out.append("| gate | verdict | detail |")
        out.append("|---|---|---|")
        for g in r.gates { out.append("| \(g.name) | \(g.verdict == .hold ? "**HOLD**" : "pass") | \(cell(g.detail)) |") }
        out.append("")
        out.append("## Changes (\(r.changes.count))")
        if r.changes.isEmpty { out.append("None: MixerAI is in line with the directory.") }
        for i in r.changes {
            out.append("- **\(i.kind)** \(i.email ?? i.mixerUserId ?? "?") — \(i.status)\(i.statusReason.map { " (\($0))" } ?? "")")
            out.append("  - from `\(compact(i.from))` to `\(compact(i.to))`")
            for reason in i.reason { out.append("  - \(reason)") }
        }
        out.append("")
        if !r.conflicts.isEmpty {
            out.append("## Conflicts (held, nothing done for these people)")
            for c in r.conflicts { out.append("- \(c.kind) \(c.email): \(c.reason)") }
            out.append("")
        }
        if !r.manualActions.isEmpty {
            out.append("## Manual actions (a human decides)")
            for m in r.manualActions {
                out.append("- \(m.kind) \(m.email ?? "")\(m.newEmail.map { " → \($0)" } ?? ""): \(m.reason)")
            }
            out.append("")
        }
        if !r.problems.isEmpty {
            out.append("## Directory data problems")
            for p in r.problems { out.append("- \(p.kind): \(p.detail)") }
            out.append("")
        }
        if let a = r.audit {
            out.append("## Audit")
            out.append("- admins (\(a.admins.count)): \(a.admins.joined(separator: ", "))")
            out.append("- accounts not in the directory (\(a.unlinked.count)): \(a.unlinked.joined(separator: ", "))")
            out.append("- invites pending too long (\(a.pendingInvitesOverDays.count)): \(a.pendingInvitesOverDays.joined(separator: ", "))")
            out.append("- not signed in for too long (\(a.inactiveOverDays.count)): \(a.inactiveOverDays.joined(separator: ", "))")
            out.append("- role drift (\(a.roleDrift.count)): \(a.roleDrift.joined(separator: ", "))")
            out.append("")
            out.append(a.deactivationDoesNotRevoke ? "What an offboarding does **not** revoke (sign-in stays possible):"
                       : "What an offboarding does **not** revoke (sign-in is banned):")
            for line in a.notRevoked { out.append("- \(line)") }
            out.append("")
        }
        out.append("## Searches (ldapsearch equivalents)")
        for s in r.snapshot.searches { out.append("    \(s)") }
        out.append("")
        return out.joined(separator: "\n")
    }

    static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    static func compact(_ s: AccountState) -> String { s.canonical.text }
}
