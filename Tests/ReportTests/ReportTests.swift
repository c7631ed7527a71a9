import Foundation
import Reconcile
import Report
import Testing

@Suite struct ReportTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func report(outcome: RunOutcome = .held, held: Bool = true) -> RunReport {
        let leaver = Change(kind: .deactivate, anchor: "a1", email: "<b>x@y.com</b>", dn: "uid=x", mixerUserId: "m1",
                            from: AccountState(active: true, role: .editor), to: .offboarded, reasons: ["leaver evidence: account_lock"])
        let invite = Change(kind: .invite, anchor: "a2", email: "new@y.com", dn: "uid=n", mixerUserId: nil, from: AccountState(),
                            to: AccountState(active: true, role: .viewer), reasons: ["no MixerAI account"])
        return RunReport(runId: "2026-11-29T10:15:00Z-3f2a", mode: .dryRun, outcome: outcome, planHash: "sha256:abc",
                         startedAt: start, finishedAt: start.addingTimeInterval(2),
                         snapshot: .init(complete: true, entries: 10, people: 9, inScope: 8, pages: 1, searches: ["ldapsearch -H ldap://x -b 'ou=p' '(uid=*)'"]),
                         gates: [GateVerdict("max_deactivations", held ? .hold : .pass, "1 of limit 0")],
                         changes: [RunReport.Item(leaver, status: held ? .skipped : .planned), RunReport.Item(invite)],
                         manualActions: RunReport.manual([ManualAction(kind: .emailChange, email: "old@y.com", newEmail: "new@y.com", reason: "rename")]),
                         audit: Audit.compute(accounts: [], plan: Plan(changes: [], conflicts: [], manualActions: [], unlinked: []),
                                              policy: Policy(), now: start))
    }

    @Test func theJSONHasEverySchemaVersionOneField() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: ReportWriter.json(report())) as? [String: Any])
        for key in ["schema_version", "run_id", "mode", "outcome", "plan_hash", "snapshot", "gates", "changes", "conflicts",
                    "manual_actions", "audit", "counts", "errors"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["schema_version"] as? Int == 1)
        let change = try #require((object["changes"] as? [[String: Any]])?.first)
        for key in ["kind", "email", "anchor", "dn", "mixer_user_id", "from", "to", "reason", "status"] { #expect(change[key] != nil, "\(key)") }
        #expect((change["to"] as? [String: Any])?["brands"] as? [String: String] == [:])
        let counts = try #require(object["counts"] as? [String: Int])
        #expect(counts["deactivate"] == 1 && counts["invite"] == 1 && counts["delete"] == 0)
        #expect((object["pending_offboard"] as? [[String: Any]])?.count == 1)
        let manual = try #require((object["manual_actions"] as? [[String: Any]])?.first)
        #expect(manual["new_email"] as? String == "new@y.com")
    }

    @Test func theHTMLIsSelfContainedEscapedAndShowsTheHeldBannerFirst() {
        let html = HTMLReport.render(report())
        #expect(html.contains("id=\"held-banner\""))
        #expect(html.contains("PENDING OFFBOARD"))
        #expect(html.contains("&lt;b&gt;x@y.com&lt;/b&gt;") && !html.contains("<b>x@y.com"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"), "no external resources")
        #expect(html.range(of: "held-banner")!.lowerBound < html.range(of: "<h2>Changes")!.lowerBound)
        #expect(!HTMLReport.render(report(outcome: .changes, held: false)).contains("id=\"held-banner\""))
    }

    @Test func theMarkdownSaysHowToApprove() {
        let md = MarkdownReport.render(report())
        #expect(md.contains("HELD BY A SAFETY GATE"))
        #expect(md.contains("mixer-sync approve sha256:abc"))
        #expect(md.contains("## PENDING OFFBOARD (1)"))
    }

    @Test func reportsAreWrittenAtomicallyWithMode0640AndPruned() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString)").path
        let writer = ReportWriter(directory: dir, formats: [.json, .markdown, .html], keep: 2)
        for i in 0..<4 {
            var r = report()
            r.runId = "2026-11-29T10:1\(i):00Z-000\(i)"
            let paths = try writer.write(r)
            #expect(paths.count == 3)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["2026-11-29T10:12:00Z-0002.html", "2026-11-29T10:12:00Z-0002.json", "2026-11-29T10:12:00Z-0002.md",
                          "2026-11-29T10:13:00Z-0003.html", "2026-11-29T10:13:00Z-0003.json", "2026-11-29T10:13:00Z-0003.md",
                          "latest.json"])
        for name in names {
            var info = stat()
            stat(dir + "/" + name, &info)
            #expect(info.st_mode & 0o777 == 0o640, "\(name)")
        }
        let latest = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/latest.json")))
        #expect(latest.runId == "2026-11-29T10:13:00Z-0003")
    }
}
