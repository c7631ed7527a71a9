import Foundation

/// The reliability ledger: every test of the reliability matrix (docs/testing.md) appends one JSON line to
/// `reliability.jsonl` (in `$MIXER_SYNC_RELIABILITY_OUT`, else `$MIXER_SYNC_TEST_DIR`) with its row and what it measured (duplicate invites, deactivations
/// outside the plan, crash runs, canary hits). `scripts/reliability` sums it into its closing line; the tests
/// themselves assert every figure.
public enum ReliabilityLedger {
    static let lock = NSLock()

    public static func record(row: String, test: String = #function, wrongDeactivations: Int = 0,
                              duplicateInvites: Int = 0, crashRun: Bool? = nil, converged: Bool? = nil,
                              canaryLeaks: Int? = nil) {
        let env = ProcessInfo.processInfo.environment
        guard let dir = [env["MIXER_SYNC_RELIABILITY_OUT"], env["MIXER_SYNC_TEST_DIR"]].compactMap({ $0 }).first(where: { !$0.isEmpty })
        else { return }
        var line: [String: Any] = ["row": row, "test": test, "wrong_deactivations": wrongDeactivations,
                                   "duplicate_invites": duplicateInvites]
        if let crashRun { line["crash_run"] = crashRun }
        if let converged { line["converged"] = converged }
        if let canaryLeaks { line["canary_leaks"] = canaryLeaks }
        guard var data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        let path = dir + "/reliability.jsonl"
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(data)
        try? handle.close()
    }
}
