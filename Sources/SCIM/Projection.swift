/// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a response carries. `id` and
/// `schemas` are always returned; names ignore case; `name.givenName` keeps one sub-attribute; an extension's
/// attributes are named `urn:…:User:department`.
struct Projection {
    var only: [AttributePath] = []
    var excluded: [AttributePath] = []

    init(_ query: [String: String]) throws {
        func paths(_ key: String) throws -> [AttributePath] {
            guard let text = query.first(where: { $0.key.caseInsensitiveCompare(key) == .orderedSame })?.value else { return [] }
            return try text.split(separator: ",").map { try FilterParser.parsePath($0.trimmingCharacters(in: .whitespaces)).attribute }
        }
        only = try paths("attributes")
        excluded = try paths("excludedAttributes")
    }

    func apply(_ resource: JSON) -> JSON {
        guard case .object(let o) = resource, !(only.isEmpty && excluded.isEmpty) else { return resource }
        var out: [String: JSON] = [:]
        if !only.isEmpty {
            for key in ["id", "schemas", "meta"] { if let k = o.key(for: key) { out[k] = o[k] } }
            for path in only { copy(path, from: o, to: &out) }
        } else {
            out = o
            for path in excluded where !["id", "schemas"].contains(path.name.lowercased()) { remove(path, from: &out) }
        }
        return .object(out)
    }

    private func copy(_ path: AttributePath, from o: [String: JSON], to out: inout [String: JSON]) {
        if let schema = path.extensionSchema {
            guard let sk = o.key(for: schema), case .object(let ext)? = o[sk], let k = ext.key(for: path.name) else { return }
            var target = out[sk]?.object ?? [:]
            target[k] = sub(ext[k]!, path.sub)
            out[sk] = .object(target)
            return
        }
        guard let k = o.key(for: path.name), let value = o[k] else { return }
        guard let s = path.sub else { out[k] = value; return }
        guard let picked = sub(value, s) else { return }
        if case .object(let have)? = out[k], case .object(let more) = picked {
            out[k] = .object(have.merging(more) { a, _ in a })
        } else {
            out[k] = picked
        }
    }

    /// Only `sub` of a complex value (or of each value of a multi-valued one).
    private func sub(_ value: JSON, _ sub: String?) -> JSON? {
        guard let sub else { return value }
        switch value {
        case .object(let o): return o.key(for: sub).map { .object([$0: o[$0]!]) } ?? .object([:])
        case .array(let a): return .array(a.compactMap { self.sub($0, sub) })
        default: return nil
        }
    }

    private func remove(_ path: AttributePath, from out: inout [String: JSON]) {
        if let schema = path.extensionSchema {
            guard let sk = out.key(for: schema), case .object(var ext)? = out[sk], let k = ext.key(for: path.name) else { return }
            ext[k] = nil
            out[sk] = .object(ext)
            return
        }
        guard let k = out.key(for: path.name) else { return }
        guard let s = path.sub else { out[k] = nil; return }
        switch out[k] {
        case .object(var inner)?:
            if let sk = inner.key(for: s) { inner[sk] = nil }
            out[k] = .object(inner)
        case .array(let a)?:
            out[k] = .array(a.map { v in
                guard case .object(var inner) = v, let sk = inner.key(for: s) else { return v }
                inner[sk] = nil
                return .object(inner)
            })
        default: break
        }
    }
}
