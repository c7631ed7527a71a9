import Foundation

/// An HTTP request as a plain value.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data?

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: Data? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response as a plain value. A 4xx/5xx is a response, not an error: errors are transport failures.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased, in arrival order; repeated headers kept.
    public var headers: [(name: String, value: String)]
    public var body: Data
    public var totalSeconds: Double

    public init(status: Int, headers: [(name: String, value: String)], body: Data, totalSeconds: Double = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.totalSeconds = totalSeconds
    }

    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.name == n }?.value
    }
}

/// A cookie in libcurl's jar (Netscape format fields).
public struct HTTPCookie: Sendable, Equatable {
    public var domain: String
    public var path: String
    public var secure: Bool
    public var expires: Int
    public var name: String
    public var value: String
}

/// A transport failure from libcurl, kept apart from HTTP statuses.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var method: String
    public var url: String

    /// The request may have reached the server and been applied (timeout, connection dropped mid-answer).
    public var outcomeUnknown: Bool {
        // 28 OPERATION_TIMEDOUT, 52 GOT_NOTHING, 55 SEND_ERROR, 56 RECV_ERROR, 18 PARTIAL_FILE, 92 HTTP2_STREAM
        [18, 28, 52, 55, 56, 92].contains(code)
    }

    /// The request certainly did not reach the server (DNS, connect, TLS handshake).
    public var neverSent: Bool { [6, 7, 35, 58, 60, 77, 51, 83, 90, 91].contains(code) }

    public var description: String { "\(method) \(url) failed: \(message) (curl \(code))" }
}
