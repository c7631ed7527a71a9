import Foundation
import Synchronization

/// Whether this process may send a request that changes something (any method but GET and HEAD). On a state shared
/// by two hosts the daemon installs a check that holds only while its lease is proven (docs/high-availability.md);
/// `HTTPClient` asks it on the client's own queue immediately before the request reaches libcurl, so a process
/// frozen after its last fenced commit and woken after losing the lease does not send what it was about to.
public enum SendGate {
    private static let check = Mutex<(@Sendable (_ method: String, _ url: String) -> String?)?>(nil)

    /// The curl-level code of a refusal: not one of libcurl's, neither "outcome unknown" nor "never sent" (no retry).
    public static let refusedCode = 1000

    /// Installs the check (nil removes it): it returns why this write may not go now, or nil to let it go.
    public static func install(_ refusal: (@Sendable (_ method: String, _ url: String) -> String?)?) {
        check.withLock { $0 = refusal }
    }

    /// Why `method` may not be sent now, or nil.
    static func refusal(method: String, url: String) -> String? {
        guard method != "GET" && method != "HEAD" else { return nil }
        let current = check.withLock { $0 }
        return current?(method, url)
    }
}
