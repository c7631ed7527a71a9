import Foundation

/// Transport settings of an HTTP client. TLS verification is always on; there is no switch.
public struct CurlOptions: Sendable {
    public var caFile: String?
    /// A hashed CA directory (`CURLOPT_CAPATH`).
    public var caDirectory: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var connectTimeout: Duration = .seconds(10)
    /// Bounds a whole request (connect, send, wait, receive).
    public var totalTimeout: Duration = .seconds(30)
    /// The cookie jar, persisted here (mode 0600) after every request; nil keeps it in memory.
    public var cookieJar: String?
    /// Sent as `User-Agent`: by default `mixer-sync (HOST; pid PID)`, so MixerAI's logs (and the sandbox's) say which
    /// host of a pair sent a call.
    public var userAgent: String = CurlOptions.defaultUserAgent

    public static let defaultUserAgent = "mixer-sync (\(ProcessInfo.processInfo.hostName); pid \(getpid()))"

    public init(caFile: String? = nil, caDirectory: String? = nil, clientCertificateFile: String? = nil,
                clientKeyFile: String? = nil, connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(30),
                cookieJar: String? = nil) {
        self.caFile = caFile
        self.caDirectory = caDirectory
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.cookieJar = cookieJar
    }
}

extension Duration {
    var milliseconds: Int {
        let (s, a) = components
        return max(1, Int(s) * 1000 + Int(a / 1_000_000_000_000_000))
    }
}
