/// `[mixerai]`.
enum MixerAISection {
    static func parse(_ t: TableReader, secrets: SecretPaths, warnings: inout [String]) throws -> MixerAISettings {
        try t.refuseInline("service_password", use: "service_password_file")
        let allowPlaintext = try t.bool("allow_plaintext") ?? false
        let url = try t.requiredString("url")
        let supabaseURL = try t.requiredString("supabase_url")
        for (key, value) in [("url", url), ("supabase_url", supabaseURL)] {
            let lower = value.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
                throw t.error(key, "must start with https:// (or http:// to loopback), found \"\(value)\"")
            }
            if lower.hasPrefix("http://") && !URLHost.isLoopback(URLHost.host(of: value)) {
                guard allowPlaintext else {
                    throw t.error(key, "\(value) is plaintext HTTP to a non-loopback host; use https:// "
                                  + "or set allow_plaintext = true if you accept that risk")
                }
                warnings.append("mixerai.\(key) \(value): plaintext HTTP (allow_plaintext = true): "
                                + "the session cookie and password cross the network unencrypted")
            }
        }
        let inlineKey = try t.string("supabase_anon_key")
        let keyFile = try t.string("supabase_anon_key_file").map(secrets.resolve)
        if inlineKey == nil && keyFile == nil {
            throw t.error("supabase_anon_key_file", "one of supabase_anon_key_file or supabase_anon_key is required")
        }
        if inlineKey != nil && keyFile != nil {
            throw t.error("supabase_anon_key", "set supabase_anon_key or supabase_anon_key_file, not both")
        }
        let ref = try t.string("supabase_project_ref")
        let email = try t.requiredString("service_email")
        guard email.contains("@") else { throw t.error("service_email", "is not an email address: \(email)") }
        let passwordFile = secrets.resolve(try t.requiredString("service_password_file"))
        let caFile = try t.string("ca_file").map(secrets.resolve)
        let caDirectory = try t.string("ca_dir")
        let cert = try t.string("client_cert_file").map(secrets.resolve)
        let key = try t.string("client_key_file").map(secrets.resolve)
        if (cert == nil) != (key == nil) {
            throw t.error(cert == nil ? "client_cert_file" : "client_key_file", "client_cert_file and client_key_file go together")
        }
        let timeout = try t.duration("timeout") ?? .seconds(30)
        guard timeout >= .seconds(1) else { throw t.error("timeout", "must be at least 1s") }
        try t.finish()
        return MixerAISettings(url: url, supabaseURL: supabaseURL, supabaseAnonKey: inlineKey, supabaseAnonKeyFile: keyFile,
                               supabaseProjectRef: ref, serviceEmail: email, servicePasswordFile: passwordFile,
                               caFile: caFile, caDirectory: caDirectory, clientCertificateFile: cert, clientKeyFile: key,
                               timeout: timeout)
    }
}
