import Foundation
import Reconcile
import Report

/// The plan file `plan` writes and `apply PLAN` reads: the hash, the changes, and when and from what it was made.
public struct PlanFile: Codable, Sendable {
    public var formatVersion = 1
    public var planHash: String
    public var runId: String
    public var createdAt: String
    public var held: Bool
    public var changes: [Change]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", planHash = "plan_hash", runId = "run_id", createdAt = "created_at", held, changes
    }

    public static func load(_ path: String) throws -> PlanFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw RunError("cannot read the plan file \(path)") }
        do { return try JSONDecoder().decode(PlanFile.self, from: data) } catch {
            throw RunError("\(path) is not a mixer-sync plan file: \(error)")
        }
    }

    /// Writes the plan to each path (encoded once).
    func write(to paths: String...) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        for path in paths {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            try ReportWriter.atomicWrite(data, to: path)
        }
    }
}

extension PlanFile {
    /// Keeps the newest `keep` plan files of `STATE/plans/` (by name: run ids start with the time) and `latest.json`.
    static func prune(directory: String, keep: Int) {
        guard keep > 0, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let plans = names.filter { $0.hasSuffix(".json") && $0 != "latest.json" }.sorted()
        for name in plans.dropLast(keep) { unlink(directory + "/" + name) }
    }
}

/// A run that could not be carried out (bad plan file, lock held, state unreadable …).
public struct RunError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Run ids: the start time in UTC and four random hex digits (`2026-11-29T10:15:00Z-3f2a`).
enum RunID {
    static func make(_ now: Date) -> String {
        RunReport.iso(now) + "-" + String(String(UInt32(UInt16.random(in: 0...UInt16.max)) | 0x10000, radix: 16).dropFirst())
    }
}
