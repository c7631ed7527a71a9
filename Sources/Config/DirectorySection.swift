import Directory
import LDAPClient

/// `[directory]` and its sub-tables.
enum DirectorySection {
    static func parse(_ t: TableReader, secrets: SecretPaths, warnings: inout [String]) throws -> DirectorySettings {
        try t.refuseInline("bind_password", use: "bind_password_file")
        guard let urls = try t.stringOrArray("url"), !urls.isEmpty else { throw t.error("url", "is required") }
        let startTLS = try t.bool("start_tls") ?? false
        let allowPlaintext = try t.bool("allow_plaintext") ?? false
        for url in urls {
            let lower = url.lowercased()
            guard lower.hasPrefix("ldap://") || lower.hasPrefix("ldaps://") || lower.hasPrefix("ldapi://") else {
                throw t.error("url", "must start with ldap://, ldaps:// or ldapi://, found \"\(url)\"")
            }
            if lower.hasPrefix("ldap://") && !startTLS {
                let host = URLHost.host(of: url)
                if !URLHost.isLoopback(host) {
                    guard allowPlaintext else {
                        throw t.error("url", "\(url) is plaintext to a non-loopback host; use ldaps://, set start_tls = true, "
                                      + "or set allow_plaintext = true if you accept that risk")
                    }
                    warnings.append("directory.url \(url): plaintext LDAP to \(host) (allow_plaintext = true): "
                                    + "the bind password and directory data cross the network unencrypted")
                }
            }
        }
        let flavor = try t.oneOf("flavor", DirectoryFlavor.allCases.map { ($0.rawValue, $0) }) ?? .openldap
        let tls = LDAPTLSOptions(caFile: try t.string("ca_file").map(secrets.resolve),
                                 caDirectory: try t.string("ca_dir"),
                                 clientCertificateFile: try t.string("client_cert_file").map(secrets.resolve),
                                 clientKeyFile: try t.string("client_key_file").map(secrets.resolve))
        if (tls.clientCertificateFile == nil) != (tls.clientKeyFile == nil) {
            throw t.error(tls.clientCertificateFile == nil ? "client_cert_file" : "client_key_file",
                          "client_cert_file and client_key_file go together")
        }
        let bindDN = try t.string("bind_dn")
        if let bindDN, DistinguishedName(bindDN) == nil { throw t.error("bind_dn", "is not a valid DN: \(bindDN)") }
        let passwordFile = try t.string("bind_password_file").map(secrets.resolve)
        let inferred: DirectorySettings.BindMethod = bindDN != nil ? .simple
            : (tls.clientCertificateFile != nil || urls.contains { $0.lowercased().hasPrefix("ldapi://") }) ? .saslExternal
            : .anonymous
        let method = try t.oneOf("bind_method", [("simple", DirectorySettings.BindMethod.simple),
                                                 ("sasl-external", .saslExternal), ("anonymous", .anonymous)]) ?? inferred
        if passwordFile != nil && bindDN == nil {
            throw t.error("bind_dn", "is required for a simple bind (bind_password_file is set)")
        }
        if method == .simple {
            if bindDN == nil { throw t.error("bind_dn", "is required for a simple bind") }
            if passwordFile == nil { throw t.error("bind_password_file", "is required for a simple bind") }
        }
        let pageSize = try t.int("page_size", range: 1...100_000) ?? 1000
        let timeout = try t.duration("timeout") ?? .seconds(30)
        let deadline = try t.duration("read_deadline") ?? .seconds(600)

        var attributes = AttributeMap.defaults(for: flavor)
        if let a = try t.subtable("attributes") {
            func set(_ key: String, _ path: WritableKeyPath<AttributeMap, String>) throws {
                if let v = try a.string(key) {
                    guard Self.isAttributeName(v) else { throw a.error(key, "is not an attribute name: \"\(v)\"") }
                    attributes[keyPath: path] = v
                }
            }
            try set("anchor", \.anchor)
            try set("email", \.email)
            try set("given_name", \.givenName)
            try set("surname", \.surname)
            try set("full_name", \.fullName)
            try set("job_title", \.jobTitle)
            try set("company", \.company)
            try set("department", \.department)
            try set("uid", \.uid)
            try a.finish()
        }

        guard let userTables = try t.arrayOfTables("users"), !userTables.isEmpty else {
            throw t.error("users", "at least one [[directory.users]] search rule is required")
        }
        var names = Set<String>()
        let users = try userTables.map { u -> UserRule in
            let name = try u.requiredString("name")
            guard names.insert(name).inserted else { throw u.error("name", "rule name \"\(name)\" is used twice") }
            guard name != "groups", name != "leavers_base", !name.hasPrefix("disabled:") else {
                throw u.error("name", "\"\(name)\" is reserved")
            }
            let base = try u.requiredString("base")
            guard DistinguishedName(base) != nil else { throw u.error("base", "is not a valid DN: \(base)") }
            let scope = try u.oneOf("scope", SearchScope.allCases.map { ($0.rawValue, $0) }) ?? .sub
            let filter = try u.requiredString("filter")
            guard FilterCheck.isBalanced(filter) else { throw u.error("filter", "is not a valid LDAP filter: \(filter)") }
            try u.finish()
            return UserRule(name: name, base: base, scope: scope, filter: filter)
        }

        var groups: GroupSettings?
        if let g = try t.subtable("groups") {
            let base = try g.requiredString("base")
            guard DistinguishedName(base) != nil else { throw g.error("base", "is not a valid DN: \(base)") }
            var settings = GroupSettings(base: base)
            settings.scope = try g.oneOf("scope", SearchScope.allCases.map { ($0.rawValue, $0) }) ?? .sub
            if let filter = try g.string("filter") {
                guard FilterCheck.isBalanced(filter) else { throw g.error("filter", "is not a valid LDAP filter: \(filter)") }
                settings.filter = filter
            }
            settings.nested = try g.bool("nested") ?? true
            try g.finish()
            groups = settings
        }

        var leavers = LeaverSettings()
        if let l = try t.subtable("leavers") {
            if let filter = try l.string("disabled_filter") {
                guard FilterCheck.isBalanced(filter) else { throw l.error("disabled_filter", "is not a valid LDAP filter: \(filter)") }
                leavers.disabledFilter = filter
            }
            if let base = try l.string("leavers_base") {
                guard DistinguishedName(base) != nil else { throw l.error("leavers_base", "is not a valid DN: \(base)") }
                leavers.leaversBase = base
            }
            leavers.accountLock = try l.bool("account_lock") ?? true
            try l.finish()
        }
        try t.finish()
        return DirectorySettings(urls: urls, startTLS: startTLS, tls: tls, bindMethod: method, bindDN: bindDN,
                                 bindPasswordFile: passwordFile, flavor: flavor, attributes: attributes, users: users,
                                 groups: groups, leavers: leavers, pageSize: pageSize, timeout: timeout,
                                 readDeadline: deadline)
    }

    static func isAttributeName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy {
            ($0.value >= 48 && $0.value <= 57) || ($0.value >= 65 && $0.value <= 90) || ($0.value >= 97 && $0.value <= 122)
                || $0 == "-" || $0 == "." || $0 == ";"
        }
    }
}

/// A cheap syntax check of configured filters: balanced parentheses, not empty. The server does the rest.
enum FilterCheck {
    static func isBalanced(_ filter: String) -> Bool {
        let f = LDAPFilter.normalized(filter)
        var depth = 0
        var escaped = false
        for c in f.utf8 {
            if escaped { escaped = false; continue }
            switch c {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth < 0 { return false }
            default: break
            }
        }
        return depth == 0 && f.count > 2
    }
}

/// The host part of a URL, for the plaintext rule.
enum URLHost {
    static func host(of url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "" }
        var rest = url[schemeEnd.upperBound...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
