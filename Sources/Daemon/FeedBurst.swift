import Foundation

/// The change feed's burst (docs/change-feed.md): from the first event heard until the fast path has judged
/// everything heard, whole. While a burst is open the queue sends nothing the change feed queued, so a mass deletion
/// still arriving can never start to apply before the gates have seen all of it; the passes of one burst are
/// remembered so that, if a later pass is held, what an earlier pass queued is withdrawn again.
public final class FeedBurst: @unchecked Sendable {
    private let lock = NSLock()
    private var open = false
    private var runs: Set<String> = []
    private var held: String?

    public init() {}

    /// Whether a burst is being gathered or judged (the queue holds back the feed's items meanwhile).
    public var isOpen: Bool {
        lock.lock()
        defer { lock.unlock() }
        return open
    }

    /// An event was heard: the burst is open until a pass has judged it.
    func begin() {
        lock.lock()
        open = true
        lock.unlock()
    }

    /// A pass of this burst queued its changes under this run id.
    func joined(runId: String) {
        lock.lock()
        runs.insert(runId)
        lock.unlock()
    }

    /// The run ids of the passes of the open burst.
    var members: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return runs
    }

    /// A held pass withdrew what the burst had queued: nothing of it is left to withdraw.
    func forgetMembers() {
        lock.lock()
        runs = []
        lock.unlock()
    }

    /// The burst was judged whole: what it queued may go.
    func close() {
        lock.lock()
        open = false
        runs = []
        lock.unlock()
    }

    /// The hash of the last held fast-path plan, watched for an approval.
    var heldPlan: String? {
        get { lock.lock(); defer { lock.unlock() }; return held }
        set { lock.lock(); held = newValue; lock.unlock() }
    }
}
