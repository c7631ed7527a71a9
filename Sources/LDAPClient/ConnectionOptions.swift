/// A password held in memory only as long as needed, and never printed.
public struct LDAPPassword: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var isEmpty: Bool { bytes.isEmpty }
}

/// How to authenticate after connecting.
public enum LDAPBind: Sendable, CustomStringConvertible {
    case anonymous
    /// Simple bind (RFC 4513 §5.1.3); only over TLS or loopback, which the configuration enforces.
    case simple(dn: String, password: LDAPPassword)
    /// SASL EXTERNAL: identity from the TLS client certificate or from ldapi:// peer credentials.
    case saslExternal

    public var description: String {
        switch self {
        case .anonymous: return "anonymous"
        case .simple(let dn, _): return "simple bind as \(dn)"
        case .saslExternal: return "SASL EXTERNAL"
        }
    }
}

/// TLS settings for ldaps:// and StartTLS. Certificate verification is always on; there is no switch.
public struct LDAPTLSOptions: Sendable, Equatable {
    public var caFile: String?
    public var caDirectory: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(caFile: String? = nil, caDirectory: String? = nil,
                clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile
        self.caDirectory = caDirectory
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}

/// Everything needed to open one authenticated connection.
public struct ConnectionOptions: Sendable {
    /// Servers to try in order (failover); each `ldap://`, `ldaps://` or `ldapi://`.
    public var urls: [String]
    public var startTLS: Bool
    public var tls: LDAPTLSOptions
    public var bind: LDAPBind
    /// Bounds every single operation: connect, StartTLS, bind, and each page of a search.
    public var operationTimeout: Duration

    public init(urls: [String], startTLS: Bool = false, tls: LDAPTLSOptions = .init(), bind: LDAPBind = .anonymous,
                operationTimeout: Duration = .seconds(30)) {
        self.urls = urls
        self.startTLS = startTLS
        self.tls = tls
        self.bind = bind
        self.operationTimeout = operationTimeout
    }
}

extension Duration {
    /// Whole milliseconds, at least 1, for C APIs that take a timeval.
    var clampedMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Swift.max(1, Int(ms))
    }
}
