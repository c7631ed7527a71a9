import Reconcile

/// The report for people, as one self-contained HTML page (no external resources): summary first, held gates and
/// PENDING OFFBOARD at the top, every item with its reason, filters by change kind, the audit.
public enum HTMLReport {
    public static func render(_ r: RunReport) -> String {
        var h = ""
        func add(_ s: String) { h += s + "\n" }
        add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        add("<title>mixer-sync report \(e(r.runId))</title>")
        add("""
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
            h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
            .banner{padding:.8em 1em;border-radius:6px;margin:1em 0;font-weight:600}
            .held{background:#fde2e1;border:2px solid #c62828}.pending{background:#fff3cd;border:2px solid #b8860b}
            .ok{background:#e6f4ea;border:1px solid #2e7d32}.error{background:#fde2e1;border:1px solid #c62828}
            table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
            th{background:#f5f5f5}.hold{color:#c62828;font-weight:700}.pass{color:#2e7d32}
            code{background:#f5f5f5;padding:0 .2em;font-size:12px}ul.reason{margin:.2em 0;padding-left:1.2em;font-size:12px;color:#444}
            .filters label{margin-right:1em}.hidden{display:none}
            </style></head><body>
            """)
        add("<h1 id=\"title\">mixer-sync report \(e(r.runId))</h1>")
        add("<p><b>\(e(r.mode.rawValue))</b> · outcome <b id=\"outcome\">\(e(r.outcome.rawValue))</b> · plan <code>\(e(r.planHash ?? "none"))</code> · \(e(r.startedAt)) → \(e(r.finishedAt))</p>")
        if r.held {
            add("<div class=\"banner held\" id=\"held-banner\">HELD BY A SAFETY GATE — nothing was applied. To release exactly this plan once: <code>mixer-sync approve \(e(r.planHash ?? ""))</code></div>")
        } else if r.outcome == .error {
            add("<div class=\"banner error\">The run failed: nothing was applied.</div>")
        } else {
            add("<div class=\"banner ok\">\(r.changes.isEmpty ? "In sync: nothing to do." : "\(r.changes.count) change(s).")</div>")
        }
        if let by = r.approvedBy { add("<div class=\"banner ok\">Released by the approval of <code>\(e(by))</code>.</div>") }
        if !r.pendingOffboard.isEmpty {
            add("<div class=\"banner pending\" id=\"pending-offboard\">PENDING OFFBOARD (\(r.pendingOffboard.count))<ul>")
            for i in r.pendingOffboard {
                add("<li>\(e(i.email ?? i.mixerUserId ?? "?")) — \(e(i.status.rawValue))\(e(i.statusReason.map { ": \($0)" } ?? "")) — sign-in: \(e(i.signIn ?? "?"))</li>")
            }
            add("</ul></div>")
        }
        for err in r.errors { add("<div class=\"banner error\">\(e(err))</div>") }
        for w in r.warnings { add("<p>warning: \(e(w))</p>") }
        add("<h2>Summary</h2><table>")
        let s = r.snapshot
        add(row("directory", "\(s.complete ? "complete" : "NOT complete") · \(s.entries) entries · \(s.people) people · \(s.inScope) in scope · \(s.pages) pages\(s.error.map { " — \($0)" } ?? "")"))
        add(row("MixerAI", r.mixerai.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")))
        add(row("counts", r.counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")))
        add(row("write queue", "\(r.queue.writes) writes\(r.queue.writesLeft.map { " · \($0) left in this window" } ?? "")\(r.queue.etaSeconds.map { " · ETA \($0) s" } ?? "")"))
        add(row("timings (ms)", r.timings.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")))
        add("</table>")
        add("<h2>Gates</h2><table><tr><th>gate</th><th>verdict</th><th>detail</th></tr>")
        for g in r.gates {
            add("<tr><td>\(e(g.name))</td><td class=\"\(g.verdict.rawValue)\">\(g.verdict.rawValue)</td><td>\(e(g.detail))</td></tr>")
        }
        add("</table>")
        add("<h2>Changes (\(r.changes.count))</h2>")
        let kinds = Array(Set(r.changes.map(\.kind))).sorted()
        if !kinds.isEmpty {
            add("<div class=\"filters\">Show: " + kinds.map {
                "<label><input type=\"checkbox\" checked data-kind=\"\(e($0))\" onchange=\"filter()\"> \(e($0))</label>"
            }.joined() + "</div>")
        }
        add("<table id=\"changes\"><tr><th>kind</th><th>who</th><th>from → to</th><th>status</th><th>reason</th></tr>")
        for i in r.changes {
            add("<tr data-kind=\"\(e(i.kind))\"><td>\(e(i.kind))</td><td>\(e(i.email ?? "?"))<br><code>\(e(i.anchor ?? i.mixerUserId ?? ""))</code></td>"
                + "<td><code>\(e(i.from.canonical.text))</code><br>→ <code>\(e(i.to.canonical.text))</code></td>"
                + "<td>\(e(i.status.rawValue))\(i.statusReason.map { "<br>" + e($0) } ?? "")</td>"
                + "<td><ul class=\"reason\">" + i.reason.map { "<li>\(e($0))</li>" }.joined() + "</ul></td></tr>")
        }
        add("</table>")
        if r.changes.isEmpty { add("<p>None: MixerAI is in line with the directory.</p>") }
        if !r.conflicts.isEmpty {
            add("<h2>Conflicts (nothing done for these people)</h2><ul>")
            for c in r.conflicts { add("<li>\(e(c.kind)) \(e(c.email)): \(e(c.reason))</li>") }
            add("</ul>")
        }
        if !r.manualActions.isEmpty {
            add("<h2>Manual actions (a human decides)</h2><ul>")
            for m in r.manualActions { add("<li>\(e(m.kind)) \(e(m.email ?? ""))\(e(m.newEmail.map { " → \($0)" } ?? "")): \(e(m.reason))</li>") }
            add("</ul>")
        }
        if !r.problems.isEmpty {
            add("<h2>Directory data problems</h2><ul>")
            for p in r.problems { add("<li>\(e(p.kind)): \(e(p.detail))</li>") }
            add("</ul>")
        }
        if let a = r.audit {
            add("<h2 id=\"audit\">Audit</h2><table>")
            add(row("admins (\(a.admins.count))", a.admins.joined(separator: ", ")))
            add(row("not in the directory (\(a.unlinked.count))", a.unlinked.joined(separator: ", ")))
            add(row("invites pending too long (\(a.pendingInvitesOverDays.count))", a.pendingInvitesOverDays.joined(separator: ", ")))
            add(row("not signed in for too long (\(a.inactiveOverDays.count))", a.inactiveOverDays.joined(separator: ", ")))
            add(row("role drift (\(a.roleDrift.count))", a.roleDrift.joined(separator: ", ")))
            add("</table><p>What MixerAI's deactivation does <b>not</b> revoke:</p><ul>")
            for line in a.notRevoked { add("<li>\(e(line))</li>") }
            add("</ul>")
        }
        add("<h2>Searches (ldapsearch equivalents)</h2><pre>" + r.snapshot.searches.map(e).joined(separator: "\n") + "</pre>")
        add("""
            <script>
            function filter(){var on={};document.querySelectorAll('.filters input').forEach(function(b){on[b.dataset.kind]=b.checked});
            document.querySelectorAll('#changes tr[data-kind]').forEach(function(r){r.classList.toggle('hidden',!on[r.dataset.kind])})}
            </script></body></html>
            """)
        return h
    }

    static func row(_ k: String, _ v: String) -> String { "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>" }

    /// HTML escaping of text and attribute values.
    static func e(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
