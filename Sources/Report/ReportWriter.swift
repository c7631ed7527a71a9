import Foundation

/// Writes a report in the configured formats: `DIR/<run-id>.json|.md|.html` and `DIR/latest.json`, each written
/// to a temporary file, fsynced and renamed into place (mode 0640), then prunes all but the newest `keep` runs.
public struct ReportWriter: Sendable {
    public enum Format: String, Sendable { case json, markdown, html }

    public var directory: String
    public var formats: [Format]
    public var keep: Int
    /// Called after each file of the run is in place (tests crash here to prove every file is whole or absent).
    public var afterFile: @Sendable (String) -> Void = { _ in }

    public init(directory: String, formats: [Format], keep: Int) {
        self.directory = directory
        self.formats = formats
        self.keep = keep
    }

    /// The paths written, JSON first.
    @discardableResult
    public func write(_ report: RunReport) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        let base = directory + "/" + Self.fileSafe(report.runId)
        // The formats are rendered at once (a 2,000-change report takes a few hundred milliseconds per format),
        // then written one by one, in order.
        let wanted = [Format.json] + formats.filter { $0 != .json }
        let rendered = Rendered(count: wanted.count)
        DispatchQueue.concurrentPerform(iterations: wanted.count) { i in
            rendered.set(i, Result {
                switch wanted[i] {
                case .json: try Self.json(report)
                case .markdown: Data(MarkdownReport.render(report).utf8)
                case .html: Data(HTMLReport.render(report).utf8)
                }
            })
        }
        let json = try rendered.get(0)
        var written: [String] = []
        for format in formats {
            let (data, path): (Data, String) = switch format {
            case .json: (json, base + ".json")
            case .markdown: (try rendered.get(wanted.firstIndex(of: .markdown)!), base + ".md")
            case .html: (try rendered.get(wanted.firstIndex(of: .html)!), base + ".html")
            }
            try Self.atomicWrite(data, to: path)
            written.append(path)
            afterFile(path)
        }
        try Self.atomicWrite(json, to: directory + "/latest.json")
        try prune()
        return written
    }

    public static func json(_ report: RunReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(report)
    }

    /// Run ids contain ':' (ISO time); file names keep them, which every Linux file system allows.
    static func fileSafe(_ runId: String) -> String { runId.replacingOccurrences(of: "/", with: "_") }

    /// Temp file (O_EXCL, 0640) → write → fsync → rename → fsync the directory.
    public static func atomicWrite(_ data: Data, to path: String, mode: mode_t = 0o640) throws {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ReportError("cannot create \(temp): \(String(cString: strerror(errno)))") }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; break }
                offset += n
            }
        }
        fchmod(fd, mode)
        if fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            throw ReportError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    /// Keeps the newest `keep` runs (by the run id's time prefix) and removes the files of the others.
    func prune() throws {
        guard keep > 0 else { return }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        var runs: [String: [String]] = [:]
        for name in names where name != "latest.json" && !name.contains(".tmp-") {
            for ext in [".json", ".md", ".html"] where name.hasSuffix(ext) {
                runs[String(name.dropLast(ext.count)), default: []].append(name)
            }
        }
        for run in runs.keys.sorted().dropLast(keep) {
            for name in runs[run]! { unlink(directory + "/" + name) }
        }
    }
}

public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The formats of one report, rendered on several threads.
private final class Rendered: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Data, any Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<Data, any Error>) { lock.withLock { results[i] = result } }

    func get(_ i: Int) throws -> Data { try lock.withLock { results[i]! }.get() }
}
