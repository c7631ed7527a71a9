import CCurl
import Foundation

/// One libcurl easy handle, reused for keep-alive, with libcurl's own cookie engine as the jar.
///
/// Not `Sendable`: a handle must never be used from two threads. `HTTPClient` confines it to one serial queue.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private let options: CurlOptions
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    init(options: CurlOptions) throws {
        _ = CurlCalls.globalInit
        guard let h = curl_easy_init() else {
            throw CurlError(code: 2, message: "curl_easy_init failed", method: "", url: "")
        }
        handle = h
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
            throw error
        }
    }

    deinit {
        curl_easy_cleanup(handle)  // also writes the cookie jar
        if let jar = options.cookieJar { chmod(jar, 0o600) }
    }

    /// Performs one request; blocks the calling thread (the client's queue) until it completes.
    func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        let h = handle
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // An empty Expect header stops curl waiting for "100 Continue" before sending a body.
        headerList = curl_slist_append(headerList, "Expect:")
        let body = ByteSink()
        let head = ByteSink()
        let bodyRef = Unmanaged.passRetained(body)
        let headRef = Unmanaged.passRetained(head)
        defer { bodyRef.release(); headRef.release() }
        let payload = request.body ?? Data()
        errorBuffer[0] = 0
        let code: CURLcode = try payload.withUnsafeBytes { bytes -> CURLcode in
            try CurlCalls.setString(h, CURLOPT_URL, request.url)
            try CurlCalls.setString(h, CURLOPT_CUSTOMREQUEST, request.method)
            try CurlCalls.setLong(h, CURLOPT_NOBODY, request.method == "HEAD" ? 1 : 0)
            if request.body != nil || ["POST", "PUT", "PATCH"].contains(request.method) {
                try CurlCalls.setLong(h, CURLOPT_POST, 1)
                // POSTFIELDS is not copied: `payload` stays alive for the whole transfer (this closure).
                try CurlCalls.check(ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)), "POSTFIELDSIZE")
                try CurlCalls.setPointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)))
            } else {
                try CurlCalls.setLong(h, CURLOPT_HTTPGET, 1)
            }
            try CurlCalls.setList(h, CURLOPT_HTTPHEADER, headerList)
            try CurlCalls.check(ccurl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION, curlBodyCallback), "WRITEFUNCTION")
            try CurlCalls.setPointer(h, CURLOPT_WRITEDATA, bodyRef.toOpaque())
            try CurlCalls.check(ccurl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION, curlBodyCallback), "HEADERFUNCTION")
            try CurlCalls.setPointer(h, CURLOPT_HEADERDATA, headRef.toOpaque())
            return curl_easy_perform(h)
        }
        try? CurlCalls.setList(h, CURLOPT_HTTPHEADER, nil)
        guard code == CURLE_OK else {
            let detail = errorBuffer[0] != 0 ? String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : String(cString: curl_easy_strerror(code))
            throw CurlError(code: Int(code.rawValue), message: detail, method: request.method, url: request.url)
        }
        let headers = Self.parseHeaders(head.data)
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
        return HTTPResponse(status: CurlCalls.responseCode(h), headers: headers, body: body.data,
                            totalSeconds: CurlCalls.totalTime(h))
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
