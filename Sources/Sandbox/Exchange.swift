import Foundation

/// One HTTP request as the sandbox sees it (independent of the HTTP server library).
public struct SandboxRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Header names lower-cased; repeated headers kept.
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(method: String, path: String, query: [String: String], headers: [(name: String, value: String)], body: Data) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    func headers(_ name: String) -> [String] { headers.filter { $0.name == name }.map(\.value) }
    var json: JSONValue? { body.isEmpty ? nil : JSONValue.parse(body) }
}

/// The answer, plus how to misbehave while sending it (faults).
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// Wait this long before answering (the change, if any, is already applied).
    public var delay: Duration = .zero
    /// Send the head and half the body, then drop the connection (the change is already applied).
    public var dropConnection = false

    init(status: Int, json: JSONValue, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.headers = [("content-type", "application/json")] + headers
        self.body = Data(json.text().utf8)
    }

    init(status: Int, text: String, contentType: String = "text/plain") {
        self.status = status
        self.headers = [("content-type", contentType)]
        self.body = Data(text.utf8)
    }
}

/// Bodies MixerAI builds the same way in many places.
enum Answer {
    static func error(_ status: Int, _ message: String, extra: [String: JSONValue] = [:]) -> SandboxResponse {
        var body: [String: JSONValue] = ["success": false, "error": .string(message)]
        for (k, v) in extra { body[k] = v }
        return SandboxResponse(status: status, json: .object(body))
    }

    /// `handleApiError(err, contextMsg)` in production form: always 500.
    static func apiError(_ context: String, code: String, hint: String = "") -> SandboxResponse {
        SandboxResponse(status: 500, json: ["success": false, "error": .string(context),
                                            "details": "See server logs for details", "hint": .string(hint),
                                            "code": .string(code)])
    }

    static func ok(_ fields: [String: JSONValue]) -> SandboxResponse {
        var body = fields
        body["success"] = true
        return SandboxResponse(status: 200, json: .object(body))
    }
}
