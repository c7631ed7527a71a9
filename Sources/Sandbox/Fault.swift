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
    /// Headers of a `status` answer (`retry-after` for a 429 storm; "http-date:+N" becomes an HTTP-date N s ahead).
    public var headers: [String: String]?
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
                     delayMs: json["delay_ms"]?.int,
                     headers: json["headers"]?.object?.compactMapValues { $0.string })
    }
}

/// RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), for Retry-After given as a date.
enum HTTPDateFormat {
    static func string(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
