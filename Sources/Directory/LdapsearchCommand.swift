import Foundation
import LDAPClient

/// The `ldapsearch` command line equivalent to one of our searches, for reports and `test-query`.
/// The password is always a `-y FILE` option, never its value.
public enum LdapsearchCommand {
    public static func render(settings: DirectorySettings, url: String, passwordFile: String?,
                              request: SearchRequest) -> String {
        var parts: [String] = []
        var env: [String] = []
        if settings.startTLS || url.lowercased().hasPrefix("ldaps://") {
            if let ca = settings.tls.caFile { env.append("LDAPTLS_CACERT=\(quote(ca))") }
            if let dir = settings.tls.caDirectory { env.append("LDAPTLS_CACERTDIR=\(quote(dir))") }
            if let cert = settings.tls.clientCertificateFile { env.append("LDAPTLS_CERT=\(quote(cert))") }
            if let key = settings.tls.clientKeyFile { env.append("LDAPTLS_KEY=\(quote(key))") }
            env.append("LDAPTLS_REQCERT=demand")
        }
        parts.append(contentsOf: env)
        parts.append("ldapsearch")
        parts.append("-H \(quote(url))")
        if settings.startTLS && !url.lowercased().hasPrefix("ldaps://") { parts.append("-ZZ") }
        switch settings.bindMethod {
        case .simple:
            parts.append("-x")
            if let dn = settings.bindDN { parts.append("-D \(quote(dn))") }
            if let passwordFile { parts.append("-y \(quote(passwordFile))") }
        case .saslExternal:
            parts.append("-Y EXTERNAL")
        case .anonymous:
            parts.append("-x")
        }
        parts.append("-b \(quote(request.base))")
        parts.append("-s \(request.scope.rawValue)")
        parts.append("-E pr=\(settings.pageSize)/noprompt")
        parts.append(quote(request.filter))
        parts.append(contentsOf: request.attributes.map { quote($0.name) })
        return parts.joined(separator: " ")
    }

    /// POSIX shell single-quoting; bare words that need no quoting stay bare.
    static func quote(_ word: String) -> String {
        let safe = word.unicodeScalars.allSatisfy {
            ($0.value >= 48 && $0.value <= 57) || ($0.value >= 65 && $0.value <= 90) || ($0.value >= 97 && $0.value <= 122)
                || "-_./:@%+,=".unicodeScalars.contains($0)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
