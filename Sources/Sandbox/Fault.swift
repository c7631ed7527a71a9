import Foundation

/// A programmed misbehaviour for the Nth request matching `method` and `pathPrefix` (and the next
/// `times − 1` matching ones). Set through `POST /__sandbox/faults`.
public struct Fault: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Answer `status` + `body` instead of running the route: nothing changes.
        case status
        /// Run the route, then wait `delayMs` before answering (a client timeout sees an applied change).
        case delay
        /// Run the route, then drop the connection mid-body: the change is applied, the answer is lost.
        case drop
    }

    public var method: String?
    public var pathPrefix: String
    public var nth: Int
    public var times: Int
    public var kind: Kind
    public var status: Int?
    public var body: JSONValue?
    public var delayMs: Int?
    var seen = 0
    var fired = 0

    /// Whether this request triggers the fault (counting it).
    mutating func matches(method: String, path: String) -> Bool {
        if let m = self.method, m.uppercased() != method { return false }
        guard path.hasPrefix(pathPrefix) else { return false }
        seen += 1
        guard seen >= nth, fired < times else { return false }
        fired += 1
        return true
    }

    static func from(_ json: JSONValue) -> Fault? {
        guard let prefix = json["path_prefix"]?.string ?? json["path"]?.string,
              let kind = Kind(rawValue: json["kind"]?.string ?? (json["status"] != nil ? "status" : "")) else { return nil }
        return Fault(method: json["method"]?.string, pathPrefix: prefix, nth: json["nth"]?.int ?? 1,
                     times: json["times"]?.int ?? 1, kind: kind, status: json["status"]?.int, body: json["body"],
                     delayMs: json["delay_ms"]?.int)
    }
}
