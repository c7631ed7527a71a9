import Foundation

/// Named points in the apply path where a test build kills itself (`SIGKILL`, as `kill -9` would), to prove that
/// a restart recovers: `MIXER_SYNC_CRASHPOINT=<point>[/<kind>]:<n>` dies at the n-th time the point is reached
/// (for changes of that kind). Compiled in debug builds only (what `swift build` and the tests use); a release
/// build — the package — has no crash points at all.
///
/// Points: `after-intent-commit` (journal written, nothing sent), `after-response-before-commit` (MixerAI answered,
/// nothing recorded), `after-commit` (confirmed in the journal), `mid-report-write` (some report files written).
enum CrashPoint {
    #if DEBUG
    private static let spec: (point: String, n: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["MIXER_SYNC_CRASHPOINT"],
              let colon = text.lastIndex(of: ":"), let n = Int(text[text.index(after: colon)...]), n > 0 else { return nil }
        return (String(text[..<colon]), n)
    }()
    nonisolated(unsafe) private static var seen = 0
    private static let lock = NSLock()

    static func reached(_ point: String, kind: String? = nil) {
        guard let spec, spec.point == point || (kind.map { spec.point == "\(point)/\($0)" } ?? false) else { return }
        lock.lock()
        seen += 1
        let now = seen
        lock.unlock()
        if now == spec.n {
            FileHandle.standardError.write(Data("mixer-sync: crash point \(spec.point):\(spec.n) reached; SIGKILL\n".utf8))
            raise(SIGKILL)
        }
    }
    #else
    @inline(__always) static func reached(_ point: String, kind: String? = nil) {}
    #endif
}
