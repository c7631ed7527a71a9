import Foundation
import Reconcile

/// The `test-query` output: the JSON object of docs/commands.md, and a text form for people.
struct TestQueryOutput: Encodable {
    struct PersonOutput: Encodable {
        var anchor: String
        var dn: String
        var email: String?
        var full_name: String?
        var leaver: Bool
        var leaver_evidence: [String]
        var groups: [String]
        var rules: [String]

        enum CodingKeys: String, CodingKey {
            case anchor, dn, email, full_name, leaver, leaver_evidence, groups, rules
        }

        /// `email` and `full_name` are always present, `null` when the entry has none (docs/commands.md).
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(anchor, forKey: .anchor)
            try c.encode(dn, forKey: .dn)
            try c.encode(email, forKey: .email)
            try c.encode(full_name, forKey: .full_name)
            try c.encode(leaver, forKey: .leaver)
            try c.encode(leaver_evidence, forKey: .leaver_evidence)
            try c.encode(groups, forKey: .groups)
            try c.encode(rules, forKey: .rules)
        }
    }

    struct ProblemOutput: Encodable {
        var kind: String
        var email: String?
        var dn: String?
        var entries: [String]?
        var attribute: String?
    }

    var complete: Bool
    var error: String?
    var entries: Int
    var pages: Int
    var searches: [String]
    var people: [PersonOutput]
    var people_total: Int
    var leavers: Int
    var groups: [String]
    var problems: [ProblemOutput]
    var server: String?
    var duration_ms: Int?

    init(snapshot: DirectorySnapshot, all: Bool) {
        complete = true
        entries = snapshot.proof.entries
        pages = snapshot.proof.pages
        searches = snapshot.proof.searches.map(\.ldapsearch)
        let shown = all ? snapshot.people : Array(snapshot.people.prefix(10))
        people = shown.map {
            PersonOutput(anchor: $0.anchor, dn: $0.dn, email: $0.email, full_name: $0.fullName, leaver: $0.isLeaver,
                         leaver_evidence: $0.leaverEvidence.map(\.rawValue), groups: $0.groups.map(\.dn), rules: $0.rules)
        }
        people_total = snapshot.people.count
        leavers = snapshot.people.filter(\.isLeaver).count
        groups = snapshot.groups.map(\.dn)
        problems = snapshot.problems.map(Self.problem)
        server = snapshot.proof.server
        duration_ms = snapshot.proof.durationMilliseconds
    }

    init(failure: SnapshotFailure) {
        complete = false
        error = failure.message
        entries = failure.entriesRead
        pages = failure.pagesRead
        searches = failure.searches.map(\.ldapsearch)
        people = []
        people_total = 0
        leavers = 0
        groups = []
        problems = []
    }

    static func problem(_ p: SnapshotProblem) -> ProblemOutput {
        switch p {
        case .duplicateEmail(let email, let dns): return ProblemOutput(kind: p.kind, email: email, entries: dns)
        case .missingEmail(let dn): return ProblemOutput(kind: p.kind, dn: dn)
        case .invalidText(let dn, let attribute): return ProblemOutput(kind: p.kind, dn: dn, attribute: attribute)
        case .missingRoleGroup(let dn): return ProblemOutput(kind: p.kind, dn: dn)
        }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        var lines: [String] = []
        lines.append("read complete from \(server ?? "?"): \(entries) person entries in \(pages) pages, \(duration_ms ?? 0) ms")
        lines.append("people: \(people_total) (\(leavers) with leaver evidence), groups: \(groups.count)")
        lines.append("")
        lines.append("equivalent ldapsearch commands:")
        for s in searches { lines.append("  \(s)") }
        lines.append("")
        lines.append(people.count == people_total ? "people:" : "first \(people.count) people:")
        for p in people {
            var line = "  \(p.email ?? "(no email)")  \(p.full_name ?? "")  \(p.dn)  anchor=\(p.anchor)"
            if p.leaver { line += "  LEAVER(\(p.leaver_evidence.joined(separator: ",")))" }
            lines.append(line)
            if !p.groups.isEmpty { lines.append("      groups: \(p.groups.joined(separator: "; "))") }
        }
        if !groups.isEmpty {
            lines.append("")
            lines.append("groups found:")
            for g in groups { lines.append("  \(g)") }
        }
        if !problems.isEmpty {
            lines.append("")
            lines.append("problems (reported, not guessed):")
            for p in problems {
                lines.append("  \(p.kind): " + [p.email, p.dn, p.attribute, p.entries?.joined(separator: " | ")]
                    .compactMap { $0 }.joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n")
    }
}
