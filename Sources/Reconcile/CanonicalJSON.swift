/// A JSON value with one canonical text form: object keys sorted by their UTF-8 bytes, no whitespace, strings
/// escaped minimally. The plan hash is computed over it, so the same plan always gives the same bytes.
public indirect enum CanonicalJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    public var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, key) in fields.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }).enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                fields[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension AccountState {
    /// The state as the report and the hash show it: only the fields that are set.
    public var canonical: CanonicalJSON {
        var o: [String: CanonicalJSON] = [:]
        if let active { o["active"] = .bool(active) }
        if let role { o["role"] = .string(role.rawValue) }
        if let brands { o["brands"] = .object(brands.mapValues { .string($0.rawValue) }) }
        if let fullName { o["full_name"] = .string(fullName) }
        if let jobTitle { o["job_title"] = .string(jobTitle) }
        if let company { o["company"] = .string(company) }
        return .object(o)
    }
}

/// `plan_hash` (docs/reconciling.md): `sha256:` over the canonical JSON of the change list — kind, anchor,
/// mixer_user_id, from, to — sorted by kind then anchor. Nothing else (no run id, time or path) goes in.
public enum PlanHash {
    public static func of(_ changes: [Change]) -> String {
        let sorted = changes.sorted {
            ($0.kind.rawValue, $0.anchor ?? "", $0.mixerUserId ?? "") < ($1.kind.rawValue, $1.anchor ?? "", $1.mixerUserId ?? "")
        }
        let list = CanonicalJSON.array(sorted.map { c in
            .object(["kind": .string(c.kind.rawValue), "anchor": c.anchor.map(CanonicalJSON.string) ?? .null,
                     "mixer_user_id": c.mixerUserId.map(CanonicalJSON.string) ?? .null,
                     "from": c.from.canonical, "to": c.to.canonical])
        })
        return "sha256:" + SHA256.hex(list.text.utf8)
    }
}
