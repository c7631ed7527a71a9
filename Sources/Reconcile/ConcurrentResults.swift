import Foundation

/// Results of `DispatchQueue.concurrentPerform`'s iterations: each writes its own element, read after it returns.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
    private let lock = NSLock()

    /// Writes one element of an array result; each concurrent iteration writes its own element.
    func set<E>(_ i: Int, _ element: E) where T == [E] {
        lock.lock()
        value![i] = element
        lock.unlock()
    }
}

/// A buffer shared with `concurrentPerform`'s iterations, each writing positions no other iteration writes.
struct UnsafeSendable<E>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<E>
    init(_ buffer: UnsafeMutableBufferPointer<E>) { self.buffer = buffer }
}
