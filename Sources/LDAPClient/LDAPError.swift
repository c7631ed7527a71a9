/// A failed LDAP operation, with everything needed to say what went wrong and where.
///
/// Every non-success result becomes one of these: a partial search is never returned as "fewer entries".
public struct LDAPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What mixer-sync was doing when the call failed.
    public enum Operation: String, Sendable {
        case initialize, connect, setOption = "set-option", startTLS = "start-tls", bind, search, parse
    }

    /// How a caller should treat the failure (docs/testing.md, Reliability).
    public enum Kind: String, Sendable {
        /// The server answered but not with everything: size/time/admin limit, referral, continuation reference.
        case partial
        /// The server or the network failed: down, busy, timeout, connection lost.
        case transient
        /// The configuration is wrong: base DN missing, filter invalid, TLS refused.
        case configuration
        /// The credentials or rights are wrong.
        case credentials
    }

    public var code: LDAPResultCode
    public var operation: Operation
    /// libldap's text for the code (`ldap_err2string`).
    public var message: String
    /// The server's diagnostic message, if any.
    public var diagnostic: String?
    /// The matched DN the server returned (useful for noSuchObject).
    public var matchedDN: String?
    /// The search base or bind DN involved.
    public var base: String?
    /// Entries received before the failure (so a report can say "806 read, then the connection was lost").
    public var entriesBeforeFailure: Int

    public init(code: LDAPResultCode, operation: Operation, message: String? = nil, diagnostic: String? = nil,
                matchedDN: String? = nil, base: String? = nil, entriesBeforeFailure: Int = 0) {
        self.code = code
        self.operation = operation
        self.message = message ?? code.name
        self.diagnostic = diagnostic.flatMap { $0.isEmpty ? nil : $0 }
        self.matchedDN = matchedDN.flatMap { $0.isEmpty ? nil : $0 }
        self.base = base
        self.entriesBeforeFailure = entriesBeforeFailure
    }

    public var kind: Kind {
        if operation == .startTLS { return .configuration }
        switch code {
        case .sizeLimitExceeded, .timeLimitExceeded, .adminLimitExceeded, .referral, .continuationReference:
            return .partial
        case .invalidCredentials, .insufficientAccessRights, .strongAuthRequired, .confidentialityRequired,
             .inappropriateAuthentication:
            return .credentials
        case .noSuchObject, .filterError, .invalidDNSyntax, .connectError, .paramError:
            return .configuration
        default:
            return .transient
        }
    }

    public var description: String {
        var text = "LDAP \(operation.rawValue) failed: \(message) (\(code.name), \(code.rawValue))"
        if let diagnostic { text += ", server said: \(diagnostic)" }
        if let base { text += ", \(operation == .bind ? "as" : "base") \(base)" }
        if let matchedDN, code == .noSuchObject { text += ", deepest existing entry: \(matchedDN)" }
        if entriesBeforeFailure > 0 { text += ", after \(entriesBeforeFailure) entries" }
        return text
    }
}

/// An LDAP result code (RFC 4511 Appendix A) or a libldap client-side code (negative).
public struct LDAPResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let success = Self(rawValue: 0)
    public static let operationsError = Self(rawValue: 1)
    public static let protocolError = Self(rawValue: 2)
    public static let timeLimitExceeded = Self(rawValue: 3)
    public static let sizeLimitExceeded = Self(rawValue: 4)
    public static let strongAuthRequired = Self(rawValue: 8)
    public static let referral = Self(rawValue: 10)
    public static let adminLimitExceeded = Self(rawValue: 11)
    public static let unavailableCriticalExtension = Self(rawValue: 12)
    public static let confidentialityRequired = Self(rawValue: 13)
    public static let noSuchObject = Self(rawValue: 32)
    public static let invalidDNSyntax = Self(rawValue: 34)
    public static let inappropriateAuthentication = Self(rawValue: 48)
    public static let invalidCredentials = Self(rawValue: 49)
    public static let insufficientAccessRights = Self(rawValue: 50)
    public static let busy = Self(rawValue: 51)
    public static let unavailable = Self(rawValue: 52)
    public static let unwillingToPerform = Self(rawValue: 53)
    public static let other = Self(rawValue: 80)
    public static let serverDown = Self(rawValue: -1)
    public static let localError = Self(rawValue: -2)
    public static let decodingError = Self(rawValue: -4)
    public static let timeout = Self(rawValue: -5)
    public static let filterError = Self(rawValue: -7)
    public static let paramError = Self(rawValue: -9)
    public static let noMemory = Self(rawValue: -10)
    public static let connectError = Self(rawValue: -11)
    /// Not a protocol code: a search continuation reference (RFC 4511 §4.5.3) that mixer-sync never chases.
    public static let continuationReference = Self(rawValue: -1000)
    /// Not a protocol code: the whole read ran past its deadline.
    public static let deadlineExceeded = Self(rawValue: -1001)
    /// Not a protocol code: a value was not what the protocol promised (bad UTF-8 in a DN).
    public static let malformedEntry = Self(rawValue: -1002)

    /// A stable name for reports and logs.
    public var name: String {
        switch self {
        case .success: return "success"
        case .operationsError: return "operationsError"
        case .protocolError: return "protocolError"
        case .timeLimitExceeded: return "timeLimitExceeded"
        case .sizeLimitExceeded: return "sizeLimitExceeded"
        case .strongAuthRequired: return "strongerAuthRequired"
        case .referral: return "referral"
        case .adminLimitExceeded: return "adminLimitExceeded"
        case .unavailableCriticalExtension: return "unavailableCriticalExtension"
        case .confidentialityRequired: return "confidentialityRequired"
        case .noSuchObject: return "noSuchObject"
        case .invalidDNSyntax: return "invalidDNSyntax"
        case .inappropriateAuthentication: return "inappropriateAuthentication"
        case .invalidCredentials: return "invalidCredentials"
        case .insufficientAccessRights: return "insufficientAccessRights"
        case .busy: return "busy"
        case .unavailable: return "unavailable"
        case .unwillingToPerform: return "unwillingToPerform"
        case .other: return "other"
        case .serverDown: return "serverDown"
        case .localError: return "localError"
        case .decodingError: return "decodingError"
        case .timeout: return "timeout"
        case .filterError: return "filterError"
        case .paramError: return "paramError"
        case .noMemory: return "noMemory"
        case .connectError: return "connectError"
        case .continuationReference: return "continuationReference"
        case .deadlineExceeded: return "deadlineExceeded"
        case .malformedEntry: return "malformedEntry"
        default: return "code\(rawValue)"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}
