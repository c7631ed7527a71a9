import Config
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import SCIM
import Secrets
import ServiceLifecycle
import State

/// Where the bridge tells the daemon what it learnt (docs/scim.md): a leaver goes to the change feed's inbox (the
/// fast path, with its burst and gates), anything else asks for a full plan once the IdP has been quiet for
/// `plan_delay` (at most `plan_delay_max` after the first push). The daemon's work attaches its inbox and request
/// flag while it runs (on a pair, only the leader's term).
public final class SCIMEventSink: @unchecked Sendable {
    private let lock = NSLock()
    private var inbox: FeedInbox?
    private var requests: FullRunRequests?
    private var first: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant?

    public init() {}

    /// The bridge posts a leaver only after the request's transaction committed.
    func attach(inbox: FeedInbox, requests: FullRunRequests) {
        inbox.postsAfterCommit = true
        lock.withLock { self.inbox = inbox; self.requests = requests }
    }

    func detach(_ inbox: FeedInbox) { lock.withLock { if self.inbox === inbox { self.inbox = nil; requests = nil } } }

    func deliver(_ events: [SCIMEvent], at: Date) {
        lock.withLock {
            for event in events {
                switch event {
                case .leaver:
                    Counter(label: "mixer_sync_scim_leavers_total").increment()
                    inbox?.post(events: 1, at: at)
                case .changed:
                    let now = ContinuousClock.now
                    if first == nil { first = now }
                    last = now
                }
            }
        }
    }

    /// Asks for the debounced full plan when it is due.
    func tick(delay: Duration, cap: Duration) {
        lock.withLock {
            guard let first, let last, let requests else { return }
            let now = ContinuousClock.now
            if now - last >= delay || now - first >= cap {
                requests.request()
                self.first = nil
                self.last = nil
            }
        }
    }
}

/// A token bucket: `rate` requests a second, bursts of `rate`.
final class RequestRate: @unchecked Sendable {
    private let lock = NSLock()
    private let rate: Double
    private var tokens: Double
    private var at = ContinuousClock.now

    init(rate: Int) {
        self.rate = Double(rate)
        tokens = Double(rate)
    }

    func take() -> Bool {
        lock.withLock {
            let now = ContinuousClock.now
            let elapsed = at.duration(to: now)
            at = now
            tokens = min(rate, tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }
}

/// The SCIM 2.0 bridge served by `mixer-sync run` (`[scim]`, docs/scim.md): `/scim/v2/…` over HTTP/1.1 on loopback,
/// or TLS elsewhere; bearer tokens from secret files compared in constant time; request size and rate limits; every
/// request handled on the state's thread, one at a time, and answered 2xx only after its transaction committed.
public struct SCIMServer: Service {
    let settings: SCIMSettings
    let config: MixerSyncConfig
    let sink: SCIMEventSink
    let logger: Logger
    let tokens: [[UInt8]]
    /// `cert_file` and `key_file`, loaded when the daemon starts: a certificate or key that cannot be read stops
    /// the start with the file named, never a bridge that silently does not listen.
    let tls: TLSConfiguration?
    let onListening: @Sendable (Int) -> Void

    public init(config: MixerSyncConfig, sink: SCIMEventSink, logger: Logger,
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        guard let settings = config.scim else { throw RunError("no [scim] section") }
        self.settings = settings
        self.config = config
        self.sink = sink
        self.logger = logger
        self.onListening = onListening
        var tokens: [[UInt8]] = []
        for file in settings.tokenFiles {
            let text: String
            do { text = String(decoding: try SecretFile.read(file).bytes, as: UTF8.self) } catch { throw RunError("scim.token_file \(file): \(error)") }
            for line in text.split(whereSeparator: \.isNewline) {
                let token = line.trimmingCharacters(in: .whitespaces)
                guard token.utf8.count >= 16 else {
                    throw RunError("scim.token_file \(file): a token is shorter than 16 characters; use a long random one")
                }
                tokens.append(Array(token.utf8))
            }
        }
        guard !tokens.isEmpty else { throw RunError("scim.token_file: no token in \(settings.tokenFiles.joined(separator: ", "))") }
        self.tokens = tokens
        if let cert = settings.certFile, let key = settings.keyFile {
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(cert) } catch {
                throw RunError("scim.cert_file \(cert): not a PEM certificate chain (\(error))")
            }
            guard !chain.isEmpty else { throw RunError("scim.cert_file \(cert): no certificate in it") }
            let privateKey: NIOSSLPrivateKey
            do { privateKey = try NIOSSLPrivateKey(bytes: try SecretFile.read(key).bytes, format: .pem) } catch {
                throw RunError("scim.key_file \(key): not a readable PEM private key (\(error))")
            }
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(privateKey))
        } else {
            tls = nil
        }
    }

    /// Whether the request's bearer token is one of ours: every token is compared over its whole length, so the
    /// time taken says nothing about how much of a guess was right.
    static func authorized(_ header: String?, tokens: [[UInt8]]) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        var any: UInt8 = 0
        for token in tokens {
            // Every token is compared whole, whatever matched before (constant time); a length that differs by any
            // amount is a difference (not its low byte: 16 and 272 differ only above it).
            var diff: UInt8 = given.count == token.count ? 0 : 1
            for i in 0..<token.count { diff |= token[i] ^ (i < given.count ? given[i] : 0) }
            any |= diff == 0 ? 1 : 0
        }
        return any == 1
    }

    public func run() async throws {
        let store = try config.openState()
        let settings = self.settings
        let scheme = settings.tls ? "https" : "http"
        var configured = SCIMService(base: "\(scheme)://\(settings.listen)/scim/v2")
        configured.maxPayload = settings.maxRequestBytes
        let service = configured
        let rate = RequestRate(rate: settings.rateLimit)
        let tokens = self.tokens
        let sink = self.sink
        let logger = self.logger
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let path = request.uri.path
            guard path == "/scim/v2" || path.hasPrefix("/scim/v2/") else {
                return Self.reply(.error(SCIMError(status: 404, detail: "the bridge serves /scim/v2")))
            }
            guard Self.authorized(request.headers[.authorization], tokens: tokens) else {
                Counter(label: "mixer_sync_scim_requests_total", dimensions: [("status", "401")]).increment()
                return Self.reply(.error(SCIMError(status: 401, detail: "a valid bearer token is required")),
                                  extra: [(.wwwAuthenticate, "Bearer")])
            }
            guard rate.take() else {
                Counter(label: "mixer_sync_scim_requests_total", dimensions: [("status", "429")]).increment()
                return Self.reply(.error(SCIMError(status: 429, detail: "too many requests; retry in a second")),
                                  extra: [(.retryAfter, "1")])
            }
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: settings.maxRequestBytes) } catch {
                return Self.reply(.error(SCIMError(status: 413, scimType: .tooMany,
                                                   detail: "the body is larger than \(settings.maxRequestBytes) bytes")))
            }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let scimRequest = SCIMRequest(method: request.method.rawValue, path: String(path.dropFirst("/scim/v2".count)),
                                          query: query, ifMatch: request.headers[.ifMatch], body: Data(buffer: body))
            let received = Date()
            let answer: SCIMResponse
            do {
                answer = try await store.perform { service.handle(scimRequest, StateSCIMRepository(store: $0)) }
            } catch {
                answer = .error(SCIMError(status: 503, detail: "the state cannot be reached; nothing was changed"))
            }
            Counter(label: "mixer_sync_scim_requests_total", dimensions: [("status", String(answer.status))]).increment()
            if answer.status >= 500 {
                logger.error("scim: request failed", metadata: ["scim.method": "\(scimRequest.method)", "scim.path": "\(path)",
                                                                "scim.status": "\(answer.status)"])
            } else if scimRequest.method != "GET" && answer.status < 300 {
                logger.debug("scim", metadata: ["scim.method": "\(scimRequest.method)", "scim.path": "\(path)",
                                                "scim.status": "\(answer.status)"])
            }
            if !answer.events.isEmpty { sink.deliver(answer.events, at: received) }
            return Self.reply(answer)
        }
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let onListening = self.onListening
        let app = Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("scim bridge listening", metadata: ["scim.listen": "\(settings.host):\(port)", "scim.tls": "\(settings.tls)"])
                onListening(port)
            },
            logger: { var l = Logger(label: "mixer-sync.scim"); l.logLevel = .error; return l }())
        let debounce = Task {
            while !Task.isCancelled {
                sink.tick(delay: settings.planDelay, cap: settings.planDelayMax)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { debounce.cancel() }
        try await app.run()
    }

    static func reply(_ r: SCIMResponse, extra: [(HTTPField.Name, String)] = []) -> Response {
        var fields = HTTPFields()
        if let etag = r.etag { fields[.eTag] = etag }
        if let location = r.location { fields[.location] = location }
        for (name, value) in extra { fields[name] = value }
        guard let body = r.body else { return Response(status: .init(code: r.status), headers: fields) }
        fields[.contentType] = "application/scim+json"
        return Response(status: .init(code: r.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.encoded())))
    }
}
