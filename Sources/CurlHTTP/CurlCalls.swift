import CCurl
import Foundation

/// Every libcurl call of mixer-sync goes through here, so return codes are checked and named in one place.
enum CurlCalls {
    /// `curl_global_init`, once per process; Swift runs a global's initialiser once, thread-safely.
    static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    static func setLong(_ h: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int) throws {
        try check(ccurl_setopt_long(h, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    static func setString(_ h: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String) throws {
        try check(ccurl_setopt_string(h, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    static func setPointer(_ h: UnsafeMutableRawPointer, _ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws {
        try check(ccurl_setopt_pointer(h, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    static func setList(_ h: UnsafeMutableRawPointer, _ option: CURLoption, _ list: UnsafeMutablePointer<curl_slist>?) throws {
        try check(ccurl_setopt_slist(h, option, list), "curl_easy_setopt(\(option.rawValue))")
    }

    static func check(_ code: CURLcode, _ call: String) throws {
        guard code == CURLE_OK else {
            throw CurlError(code: Int(code.rawValue), message: "\(call): \(String(cString: curl_easy_strerror(code)))",
                            method: "", url: "")
        }
    }

    static func checkMulti(_ code: CURLMcode, _ call: String) throws {
        guard code == CURLM_OK else {
            throw CurlError(code: 2, message: "\(call): \(String(cString: curl_multi_strerror(code)))", method: "", url: "")
        }
    }

    static func responseCode(_ h: UnsafeMutableRawPointer) -> Int {
        var code = 0
        _ = ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    static func totalTime(_ h: UnsafeMutableRawPointer) -> Double {
        var t = 0.0
        _ = ccurl_getinfo_double(h, CURLINFO_TOTAL_TIME, &t)
        return t
    }

    /// `CURLINFO_COOKIELIST`: the jar as Netscape lines.
    static func cookies(_ h: UnsafeMutableRawPointer) -> [HTTPCookie] {
        var list: UnsafeMutablePointer<curl_slist>?
        guard ccurl_getinfo_slist(h, CURLINFO_COOKIELIST, &list) == CURLE_OK else { return [] }
        defer { curl_slist_free_all(list) }
        var out: [HTTPCookie] = []
        var cursor = list
        while let node = cursor {
            if let data = node.pointee.data {
                let f = String(cString: data).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                if f.count >= 7 {
                    out.append(HTTPCookie(domain: f[0].replacingOccurrences(of: "#HttpOnly_", with: ""), path: f[2],
                                          secure: f[3] == "TRUE", expires: Int(f[4]) ?? 0, name: f[5], value: f[6]))
                }
            }
            cursor = node.pointee.next
        }
        return out
    }
}

/// Write callbacks: libcurl hands over whole buffers; append them at once.
let curlBodyCallback: curl_write_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let sink = Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue()
    sink.data.append(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: size * count)
    return size * count
}

/// Collects the response body or headers of one transfer.
final class ByteSink {
    var data = Data()
}

/// The libcurl this process runs with, for `mixer-sync --version` (`curl_version_info`).
public enum CurlLibrary {
    public static var version: String {
        guard let info = ccurl_version_info(), let v = info.pointee.version else { return "unknown" }
        return String(cString: v)
    }

    /// The TLS backend(s) libcurl was built with ("GnuTLS/3.7.9", or several when it can switch).
    public static var tlsBackend: String {
        guard let info = ccurl_version_info(), let v = info.pointee.ssl_version else { return "none" }
        return String(cString: v)
    }
}
