import CCurl
import Testing

/// The CCurl shim compiles and its typed wrappers reach libcurl (the HTTP client builds on them).
@Suite struct CCurlShimTests {
    @Test func typedSetoptWrappersReachLibcurl() throws {
        let handle = try #require(curl_easy_init())
        defer { curl_easy_cleanup(handle) }
        #expect(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        #expect(ccurl_setopt_string(handle, CURLOPT_URL, "https://127.0.0.1:1/") == CURLE_OK)
        var code = 0
        #expect(ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        #expect(code == 0)
        let version = String(cString: curl_version())
        #expect(version.hasPrefix("libcurl/"))
    }
}
