/// An error in SCIM's own envelope (RFC 7644 §3.12): `status` is a string in the body, `scimType` names the kind
/// of 400.
public struct SCIMError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidFilter, tooMany, uniqueness, mutability, invalidSyntax, invalidPath, noTarget, invalidValue,
             invalidVers, sensitive
    }

    public var status: Int
    public var scimType: Kind?
    public var detail: String

    public init(status: Int, scimType: Kind? = nil, detail: String) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
    }

    public static func badRequest(_ kind: Kind, _ detail: String) -> SCIMError { .init(status: 400, scimType: kind, detail: detail) }

    public var description: String { "\(status)\(scimType.map { " \($0.rawValue)" } ?? ""): \(detail)" }

    /// The body: `{"schemas":[…Error],"status":"400","scimType":"invalidFilter","detail":"…"}`.
    public var json: JSON {
        var o: [String: JSON] = ["schemas": [.string(SCIMSchema.error)], "status": .string(String(status)),
                                 "detail": .string(detail)]
        if let scimType { o["scimType"] = .string(scimType.rawValue) }
        return .object(o)
    }
}
