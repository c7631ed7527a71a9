import Foundation

/// The Supabase session cookie `sb-<ref>-auth-token` in every form `@supabase/ssr` reads: raw JSON,
/// `base64-` + base64url(JSON), and either split into `.0`, `.1`, … chunks of at most 3180 characters.
enum AuthCookie {
    static let chunkSize = 3180

    static func name(ref: String) -> String { "sb-\(ref)-auth-token" }

    /// All cookies of a request (`Cookie:` headers), by name.
    static func parse(_ headers: [String]) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headers {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let name = String(pair[..<eq])
                if cookies[name] == nil { cookies[name] = String(pair[pair.index(after: eq)...]) }
            }
        }
        return cookies
    }

    /// The access and refresh tokens carried by the session cookie, or nil.
    static func tokens(in cookies: [String: String], ref: String) -> (access: String, refresh: String?)? {
        let base = name(ref: ref)
        var value = cookies[base]
        if value == nil {
            var chunks: [String] = []
            while let chunk = cookies["\(base).\(chunks.count)"] { chunks.append(chunk) }
            if !chunks.isEmpty { value = chunks.joined() }
        }
        guard var text = value, !text.isEmpty else { return nil }
        if text.hasPrefix("base64-") {
            guard let decoded = base64URLDecode(String(text.dropFirst(7))) else { return nil }
            text = decoded
        } else if !text.hasPrefix("{") && !text.hasPrefix("["), let unescaped = text.removingPercentEncoding {
            text = unescaped
        }
        guard let json = JSONValue.parse(Data(text.utf8)) else { return nil }
        if let access = json["access_token"]?.string { return (access, json["refresh_token"]?.string) }
        if let array = json.array, let access = array.first?.string { return (access, array.dropFirst().first?.string) }
        return nil
    }

    /// `Set-Cookie` values for a session, as `@supabase/ssr` 0.6 writes them (base64-, chunked when long).
    static func setCookies(session: JSONValue, ref: String) -> [String] {
        let value = "base64-" + base64URLEncode(session.text())
        let base = name(ref: ref)
        let attributes = "; Path=/; Max-Age=34560000; SameSite=Lax"
        if value.count <= chunkSize { return ["\(base)=\(value)\(attributes)"] }
        var out: [String] = []
        var rest = Substring(value)
        var i = 0
        while !rest.isEmpty {
            out.append("\(base).\(i)=\(rest.prefix(chunkSize))\(attributes)")
            rest = rest.dropFirst(chunkSize)
            i += 1
        }
        return out
    }

    static func base64URLEncode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> String? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        guard let data = Data(base64Encoded: s) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
