import Dispatch

/// Process-wide libcurl setup.
public enum CurlGlobal {
    /// `curl_global_init`: call first thing in `main`, before other threads exist. Later calls do nothing.
    public static func initialize() { _ = CurlCalls.globalInit }
}

/// An HTTP client over one libcurl handle, confined to a serial queue so `curl_easy_perform` (which blocks)
/// never runs on Swift's cooperative pool and the handle is never shared between threads.
public final class HTTPClient: Sendable {
    private let queue = DispatchQueue(label: "mixer-sync.curl")
    private nonisolated(unsafe) let easy: CurlEasy  // touched only on `queue`

    public init(options: CurlOptions) throws {
        easy = try CurlEasy(options: options)
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Sends a request; a 4xx/5xx is a response, a transport failure throws `CurlError`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await onQueue {
            if let refusal = SendGate.refusal(method: request.method, url: request.url) {
                throw CurlError(code: SendGate.refusedCode, message: "not sent: \(refusal)", method: request.method, url: request.url)
            }
            return try self.easy.perform(request)
        }
    }

    /// Adds a cookie to the jar: a Netscape line (`host\tFALSE\t/\tFALSE\t0\tname\tvalue`) or a Set-Cookie line.
    public func setCookie(_ line: String) async throws {
        try await onQueue { try self.easy.setCookie(line) }
    }

    /// The cookies in the jar now.
    public func cookies() async throws -> [HTTPCookie] {
        try await onQueue { self.easy.cookies }
    }
}
