import CurlHTTP

/// A failed MixerAI call, classified from the status and the body (MixerAI answers most errors with 500 + `code`).
public enum MixerAIError: Error, Sendable, CustomStringConvertible {
    /// The transport failed; `outcomeUnknown` says whether a mutation may have been applied.
    case transport(CurlError)
    /// Sign-in failed (bad credentials, no session after one re-login).
    case authentication(String)
    /// The service account lacks a right (one of MixerAI's two admin notions).
    case permission(String)
    /// MixerAI refused with a status and, where it gave one, a code (`23503`, `22P02`, `user_not_found` …).
    case refused(status: Int, code: String?, message: String, method: String, path: String)
    /// Rate-limited even after honouring Retry-After.
    case rateLimited(retryAfter: Int?, path: String)
    /// The answer could not be read.
    case malformed(String)
    /// A mutation's outcome is unknown and reading back could not settle it.
    case ambiguous(String)

    public var description: String {
        switch self {
        case .transport(let e): return "MixerAI transport: \(e)"
        case .authentication(let m): return "MixerAI sign-in failed: \(m)"
        case .permission(let m): return "MixerAI permission: \(m)"
        case .refused(let status, let code, let message, let method, let path):
            return "MixerAI \(method) \(path) refused: \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .rateLimited(let retry, let path): return "MixerAI rate limit on \(path)\(retry.map { ", retry after \($0) s" } ?? "")"
        case .malformed(let m): return "MixerAI answer unreadable: \(m)"
        case .ambiguous(let m): return "MixerAI outcome unknown: \(m)"
        }
    }
}
