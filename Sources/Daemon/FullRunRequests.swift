import Foundation

/// A request from the change feed for a full run now, instead of at the next scheduled time: the feed lost its
/// footing (another domain controller answers, its USN went backwards, a DirSync cookie was refused), so what
/// changed meanwhile — grants as well as removals — is only known to a whole reconcile.
public final class FullRunRequests: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false

    public init() {}

    func request() {
        lock.lock()
        pending = true
        lock.unlock()
    }

    /// Whether a full run was asked for since the last call (and clears it).
    func take() -> Bool {
        lock.lock()
        defer { pending = false; lock.unlock() }
        return pending
    }

    /// Sleeps `duration`, ending early (true) when a full run is asked for.
    func sleep(for duration: Duration) async throws -> Bool {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            if take() { return true }
            try await Task.sleep(for: min(.milliseconds(250), ContinuousClock.now.duration(to: end)))
        }
        return take()
    }
}
