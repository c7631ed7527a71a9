import Reconcile

/// Where a deployment's people come from (`source`, top level): the LDAP directory (default) or what an IdP pushes
/// over SCIM 2.0 to the daemon (docs/scim.md). One source per deployment.
public enum PeopleSource: String, Sendable, CaseIterable {
    case ldap
    case scim
}

/// `[scim]`: the bridge the IdP provisions through (docs/scim.md).
public struct SCIMSettings: Sendable, Equatable {
    /// `host:port`; loopback by default. Any other address needs `cert_file` and `key_file` (no plaintext off loopback).
    public var host: String
    public var port: Int
    /// Resolved paths of the bearer token files (one or more; each may hold several tokens, one per line).
    public var tokenFiles: [String]
    public var certFile: String?
    public var keyFile: String?
    /// The largest request body accepted (`max_request_bytes`, default 1 MiB): larger is 413, nothing read further.
    public var maxRequestBytes: Int
    /// Requests per second accepted (`rate_limit`, default 200; bursts up to the same number): more is 429.
    public var rateLimit: Int
    /// After a push that may change a plan (not an offboarding: that is the fast path), the full plan waits this
    /// long for the IdP to go quiet (`plan_delay`, default 2 s), and at most `plan_delay_max` (default 30 s).
    public var planDelay: Duration
    public var planDelayMax: Duration

    public var listen: String { "\(host):\(port)" }
    public var tls: Bool { certFile != nil }
}

enum SCIMSection {
    static func parse(_ t: TableReader, secrets: SecretPaths) throws -> SCIMSettings {
        try t.refuseInline("token", use: "token_file")
        let listen = try t.string("listen") ?? "127.0.0.1:9443"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port)
        else { throw t.error("listen", "is host:port, found \"\(listen)\"") }
        let host = String(listen[..<colon]).trimmingCharacters(in: ["[", "]"])
        guard !host.isEmpty else { throw t.error("listen", "names no host: \"\(listen)\"") }
        guard let tokens = try t.stringOrArray("token_file"), !tokens.isEmpty else {
            throw t.error("token_file", "is required: the IdP's bearer token(s), in a secret file")
        }
        let cert = try t.string("cert_file").map(secrets.resolve)
        let key = try t.string("key_file").map(secrets.resolve)
        guard (cert == nil) == (key == nil) else {
            throw t.error(cert == nil ? "cert_file" : "key_file", "cert_file and key_file go together")
        }
        if cert == nil && !URLHost.isLoopback(host) {
            throw t.error("listen", "\(listen) is not loopback: the bridge serves other hosts over TLS only; set cert_file "
                          + "and key_file (or put a TLS proxy in front and listen on 127.0.0.1)")
        }
        let maxBytes = try t.int("max_request_bytes", range: 1024...67_108_864) ?? 1_048_576
        let rate = try t.int("rate_limit", range: 1...100_000) ?? 200
        let delay = try t.duration("plan_delay") ?? .seconds(2)
        let delayMax = try t.duration("plan_delay_max") ?? .seconds(30)
        guard delayMax >= delay else { throw t.error("plan_delay_max", "must be at least plan_delay") }
        try t.finish()
        return SCIMSettings(host: host, port: port, tokenFiles: tokens.map(secrets.resolve), certFile: cert, keyFile: key,
                            maxRequestBytes: maxBytes, rateLimit: rate, planDelay: delay, planDelayMax: delayMax)
    }
}
