import CurlHTTP
import Foundation
import Secrets

/// Where MixerAI is and how mixer-sync signs in: a dedicated service account, password from a file.
public struct MixerAIConnection: Sendable {
    public var baseURL: String
    public var supabaseURL: String
    public var anonKey: Secret
    /// The <ref> of the `sb-<ref>-auth-token` cookie: by default the first label of the Supabase host.
    public var projectRef: String
    public var serviceEmail: String
    public var servicePassword: Secret
    public var transport: CurlOptions
    /// Refresh the session this long before it expires.
    public var refreshMargin: Double = 60

    public init(baseURL: String, supabaseURL: String, anonKey: Secret, projectRef: String? = nil,
                serviceEmail: String, servicePassword: Secret, transport: CurlOptions = .init()) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.supabaseURL = supabaseURL.hasSuffix("/") ? String(supabaseURL.dropLast()) : supabaseURL
        self.anonKey = anonKey
        self.projectRef = projectRef ?? Self.defaultRef(supabaseURL)
        self.serviceEmail = serviceEmail
        self.servicePassword = servicePassword
        self.transport = transport
    }

    static func defaultRef(_ url: String) -> String {
        URLComponents(string: url)?.host?.split(separator: ".").first.map(String.init) ?? "supabase"
    }

    var host: String { URLComponents(string: baseURL)?.host ?? "localhost" }
}
