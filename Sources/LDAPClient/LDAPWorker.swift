import Dispatch

/// A serial queue that owns all blocking libldap work, so `ldap_result` and the `*_s` calls never
/// sit on Swift's cooperative thread pool. Open, use and drop an `LDAPConnection` inside one `run`.
public final class LDAPWorker: Sendable {
    private let queue: DispatchQueue

    public init(label: String = "mixer-sync.ldap") {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` on the worker's queue and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
