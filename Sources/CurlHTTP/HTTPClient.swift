import Dispatch
import Synchronization

/// Process-wide libcurl setup.
public enum CurlGlobal {
    /// `curl_global_init`: call first thing in `main`, before other threads exist. Later calls do nothing.
    public static func initialize() { _ = CurlCalls.globalInit }
}

/// An HTTP client over one libcurl handle, confined to a serial queue so libcurl (which blocks) never runs on
/// Swift's cooperative pool and the handle is never shared between threads.
///
/// Everything done with the handle is a job in one FIFO, run in order on that queue. When a request's answer is in
/// and the next job is a request too, the next one is put on the wire *before* the answer is handed over: the server
/// works on it while the caller reads the answer (a list page's decoding, on two busy cores, otherwise delayed the
/// next request by as long as it took). The order of requests on the connection is the order they were sent in.
public final class HTTPClient: Sendable {
    private enum Job {
        case request(HTTPRequest, CheckedContinuation<HTTPResponse, any Error>)
        case work(@Sendable () -> Void)
    }

    private struct Jobs {
        var waiting: [Job] = []
        var draining = false
    }

    private let queue = DispatchQueue(label: "mixer-sync.curl")
    private nonisolated(unsafe) let easy: CurlEasy  // touched only on `queue`
    private let jobs = Mutex(Jobs())

    public init(options: CurlOptions) throws {
        easy = try CurlEasy(options: options)
    }

    /// Sends a request; a 4xx/5xx is a response, a transport failure throws `CurlError`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.request(request, continuation))
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

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.work { continuation.resume(with: Result { try body() }) })
        }
    }

    private func enqueue(_ job: Job) {
        let start = jobs.withLock { jobs in
            jobs.waiting.append(job)
            defer { jobs.draining = true }
            return !jobs.draining
        }
        if start { queue.async { self.drain() } }
    }

    /// Runs the jobs until none is left (on `queue`).
    private func drain() {
        var inFlight: CheckedContinuation<HTTPResponse, any Error>?
        while true {
            if let waiting = inFlight {
                let answer = Result { try easy.finish() }
                inFlight = nil
                let next: (HTTPRequest, CheckedContinuation<HTTPResponse, any Error>)? = jobs.withLock { jobs in
                    guard case .request(let request, let continuation)? = jobs.waiting.first else { return nil }
                    jobs.waiting.removeFirst()
                    return (request, continuation)
                }
                if let (request, continuation) = next { inFlight = start(request, continuation) }
                waiting.resume(with: answer)
                continue
            }
            let job: Job? = jobs.withLock { jobs in
                if jobs.waiting.isEmpty { jobs.draining = false; return nil }
                return jobs.waiting.removeFirst()
            }
            switch job {
            case nil: return
            case .work(let body)?: body()
            case .request(let request, let continuation)?: inFlight = start(request, continuation)
            }
        }
    }

    /// Starts a request, or answers its caller at once when it may not or cannot start; the continuation to
    /// answer when it finishes otherwise.
    private func start(_ request: HTTPRequest, _ continuation: CheckedContinuation<HTTPResponse, any Error>)
        -> CheckedContinuation<HTTPResponse, any Error>? {
        if let refusal = SendGate.refusal(method: request.method, url: request.url) {
            continuation.resume(throwing: CurlError(code: SendGate.refusedCode, message: "not sent: \(refusal)",
                                                    method: request.method, url: request.url))
            return nil
        }
        do {
            try easy.start(request)
            return continuation
        } catch {
            continuation.resume(throwing: error)
            return nil
        }
    }
}
