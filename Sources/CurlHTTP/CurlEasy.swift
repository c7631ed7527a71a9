import CCurl
import Foundation

/// One libcurl easy handle, reused for keep-alive, with libcurl's own cookie engine as the jar. It is driven
/// through a multi handle of its own, one transfer at a time, so a request can be started (`start`, which puts it
/// on the wire) before the previous answer is handed over, and collected later (`finish`).
///
/// Not `Sendable`: a handle must never be used from two threads. `HTTPClient` confines it to one serial queue.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private let multi: UnsafeMutableRawPointer
    private let options: CurlOptions
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    /// The transfer started and not yet finished: what libcurl reads and writes while it runs.
    private struct Transfer {
        var request: HTTPRequest
        var headerList: UnsafeMutablePointer<curl_slist>?
        var body: Unmanaged<ByteSink>
        var head: Unmanaged<ByteSink>
    }
    private var transfer: Transfer?

    init(options: CurlOptions) throws {
        _ = CurlCalls.globalInit
        guard let h = curl_easy_init() else {
            throw CurlError(code: 2, message: "curl_easy_init failed", method: "", url: "")
        }
        guard let m = curl_multi_init() else {
            curl_easy_cleanup(h)
            throw CurlError(code: 2, message: "curl_multi_init failed", method: "", url: "")
        }
        handle = h
        multi = m
        self.options = options
        do {
            try CurlCalls.setLong(h, CURLOPT_NOSIGNAL, 1)
            try CurlCalls.setString(h, CURLOPT_PROTOCOLS_STR, "http,https")
            try CurlCalls.setString(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
            try CurlCalls.setLong(h, CURLOPT_FOLLOWLOCATION, 0)
            try CurlCalls.setLong(h, CURLOPT_SSL_VERIFYPEER, 1)
            try CurlCalls.setLong(h, CURLOPT_SSL_VERIFYHOST, 2)
            if let ca = options.caFile { try CurlCalls.setString(h, CURLOPT_CAINFO, ca) }
            if let dir = options.caDirectory { try CurlCalls.setString(h, CURLOPT_CAPATH, dir) }
            if let cert = options.clientCertificateFile { try CurlCalls.setString(h, CURLOPT_SSLCERT, cert) }
            if let key = options.clientKeyFile { try CurlCalls.setString(h, CURLOPT_SSLKEY, key) }
            try CurlCalls.setLong(h, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeout.milliseconds)
            try CurlCalls.setLong(h, CURLOPT_TIMEOUT_MS, options.totalTimeout.milliseconds)
            try CurlCalls.setString(h, CURLOPT_USERAGENT, options.userAgent)
            // Turn the cookie engine on, loading a persisted jar when there is one.
            try CurlCalls.setString(h, CURLOPT_COOKIEFILE, options.cookieJar.flatMap {
                FileManager.default.fileExists(atPath: $0) ? $0 : nil } ?? "")
            if let jar = options.cookieJar { try CurlCalls.setString(h, CURLOPT_COOKIEJAR, jar) }
            try errorBuffer.withUnsafeMutableBytes { try CurlCalls.setPointer(h, CURLOPT_ERRORBUFFER, $0.baseAddress) }
        } catch {
            curl_easy_cleanup(h)
            curl_multi_cleanup(m)
            throw error
        }
    }

    deinit {
        if transfer != nil { _ = try? finish() }
        curl_easy_cleanup(handle)  // also writes the cookie jar
        curl_multi_cleanup(multi)
        if let jar = options.cookieJar { chmod(jar, 0o600) }
    }

    /// Performs one request; blocks the calling thread (the client's queue) until it completes.
    func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        try start(request)
        return try finish()
    }

    /// Starts a request and drives it as far as it goes without waiting: on a kept-alive connection it is sent.
    func start(_ request: HTTPRequest) throws {
        precondition(transfer == nil, "one transfer at a time")
        let h = handle
        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // An empty Expect header stops curl waiting for "100 Continue" before sending a body.
        headerList = curl_slist_append(headerList, "Expect:")
        let started = Transfer(request: request, headerList: headerList, body: Unmanaged.passRetained(ByteSink()),
                               head: Unmanaged.passRetained(ByteSink()))
        errorBuffer[0] = 0
        do {
            try CurlCalls.setString(h, CURLOPT_URL, request.url)
            try CurlCalls.setString(h, CURLOPT_CUSTOMREQUEST, request.method)
            try CurlCalls.setLong(h, CURLOPT_NOBODY, request.method == "HEAD" ? 1 : 0)
            if request.body != nil || ["POST", "PUT", "PATCH"].contains(request.method) {
                let payload = request.body ?? Data()
                try CurlCalls.setLong(h, CURLOPT_POST, 1)
                try CurlCalls.check(ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.count)), "POSTFIELDSIZE")
                // libcurl copies the body: nothing of ours has to outlive this call.
                try payload.withUnsafeBytes { bytes in
                    try CurlCalls.setPointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)))
                }
            } else {
                try CurlCalls.setLong(h, CURLOPT_HTTPGET, 1)
            }
            try CurlCalls.setList(h, CURLOPT_HTTPHEADER, headerList)
            try CurlCalls.check(ccurl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION, curlBodyCallback), "WRITEFUNCTION")
            try CurlCalls.setPointer(h, CURLOPT_WRITEDATA, started.body.toOpaque())
            try CurlCalls.check(ccurl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION, curlBodyCallback), "HEADERFUNCTION")
            try CurlCalls.setPointer(h, CURLOPT_HEADERDATA, started.head.toOpaque())
            try CurlCalls.checkMulti(curl_multi_add_handle(multi, h), "curl_multi_add_handle")
        } catch {
            Self.release(started)
            guard var failure = error as? CurlError else { throw error }
            failure.method = request.method
            failure.url = request.url
            throw failure
        }
        transfer = started
        var running: Int32 = 0
        _ = curl_multi_perform(multi, &running)
    }

    /// Waits for the started request's answer.
    func finish() throws -> HTTPResponse {
        guard let current = transfer else { preconditionFailure("no transfer started") }
        var code = CURLE_OK
        var running: Int32 = 0
        while true {
            let performed = curl_multi_perform(multi, &running)
            if ccurl_multi_done(multi, &code) == 1 { break }
            if performed != CURLM_OK {
                code = CURLE_FAILED_INIT
                break
            }
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        curl_multi_remove_handle(multi, handle)
        transfer = nil
        defer { Self.release(current) }
        try? CurlCalls.setList(handle, CURLOPT_HTTPHEADER, nil)
        let request = current.request
        guard code == CURLE_OK else {
            let detail = errorBuffer[0] != 0 ? String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : String(cString: curl_easy_strerror(code))
            throw CurlError(code: Int(code.rawValue), message: detail, method: request.method, url: request.url)
        }
        let headers = Self.parseHeaders(current.head.takeUnretainedValue().data)
        // The jar is written when a Set-Cookie brings something new, not when a server repeats a cookie it
        // already set (MixerAI's middleware re-sends its CSRF and app-session cookies on many answers).
        var changed = false
        for header in headers where header.name == "set-cookie" {
            let pair = header.value.prefix { $0 != ";" }
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            if seenCookies[name] != value { seenCookies[name] = value; changed = true }
        }
        if changed { flushJar() }
        return HTTPResponse(status: CurlCalls.responseCode(handle), headers: headers, body: current.body.takeUnretainedValue().data,
                            totalSeconds: CurlCalls.totalTime(handle))
    }

    private static func release(_ transfer: Transfer) {
        curl_slist_free_all(transfer.headerList)
        transfer.body.release()
        transfer.head.release()
    }

    /// Cookie values last received, to tell a new Set-Cookie from a repeated one.
    private var seenCookies: [String: String] = [:]

    /// Writes the jar to disk (mode 0600) when it changed, so a crash keeps the session; not on every request.
    private func flushJar() {
        guard let jar = options.cookieJar else { return }
        _ = try? CurlCalls.setString(handle, CURLOPT_COOKIELIST, "FLUSH")
        chmod(jar, 0o600)
    }

    /// Adds a cookie to the jar (`CURLOPT_COOKIELIST`): a Netscape-format line (tab-separated), or a
    /// `name=value; Path=/` Set-Cookie line.
    func setCookie(_ line: String) throws {
        try CurlCalls.setString(handle, CURLOPT_COOKIELIST, line.contains("\t") ? line : "Set-Cookie: " + line)
        flushJar()
    }

    var cookies: [HTTPCookie] { CurlCalls.cookies(handle) }

    /// The headers of the last response in the block (after any 100 Continue).
    static func parseHeaders(_ data: Data) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        for line in String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n") {
            if line.hasPrefix("HTTP/") { out.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            out.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return out
    }
}

@available(*, unavailable)
extension CurlEasy: Sendable {}
