/// One PATCH operation (RFC 7644 §3.5.2), as the IdPs send it: the op's name in any case (Entra ID's `Replace`).
public struct PatchOperation: Sendable, Equatable {
    public enum Op: String, Sendable { case add, replace, remove }
    public var op: Op
    public var path: String?
    public var value: JSON?

    public init(op: Op, path: String? = nil, value: JSON? = nil) {
        self.op = op
        self.path = path
        self.value = value
    }

    /// The `Operations` of a PatchOp request body.
    public static func list(from body: JSON) throws(SCIMError) -> [PatchOperation] {
        guard let schemas = body["schemas"]?.array, schemas.contains(.string(SCIMSchema.patchOp)) else {
            throw .badRequest(.invalidSyntax, "a PATCH body names the schema \(SCIMSchema.patchOp)")
        }
        guard let ops = body["Operations"]?.array, !ops.isEmpty else {
            throw .badRequest(.invalidSyntax, "a PATCH body has a non-empty Operations list")
        }
        var out: [PatchOperation] = []
        for o in ops {
            guard let name = o["op"]?.string, let op = Op(rawValue: name.lowercased()) else {
                throw .badRequest(.invalidSyntax, "op is add, replace or remove")
            }
            guard o["path"] == nil || o["path"]?.string != nil else { throw .badRequest(.invalidPath, "path is a string") }
            out.append(PatchOperation(op: op, path: o["path"]?.string, value: o["value"]))
        }
        return out
    }
}

/// Applies PATCH operations to a resource, in order and all or nothing (RFC 7644 §3.5.2): `add` merges (a
/// multi-valued attribute gains the values it lacks), `replace` sets (a filtered path replaces the matching
/// values), `remove` clears (a filtered path removes the matching values). Read-only attributes are refused
/// (`mutability`), a remove without a path is `noTarget`, a filter that matches nothing in a replace is `noTarget`
/// — except a path of the form `attr[type eq "x"]…`, which Entra ID sends to create a typed value, and which adds it.
public enum PatchEngine {
    public static func apply(_ operations: [PatchOperation], to resource: JSON) throws(SCIMError) -> JSON {
        guard case .object(var object) = resource else { throw .badRequest(.invalidSyntax, "the resource is not an object") }
        for operation in operations { try apply(operation, to: &object) }
        return .object(object)
    }

    static func apply(_ operation: PatchOperation, to object: inout [String: JSON]) throws(SCIMError) {
        guard let pathText = operation.path, !pathText.isEmpty else {
            guard operation.op != .remove else { throw .badRequest(.noTarget, "remove needs a path") }
            guard case .object(let values)? = operation.value else {
                throw .badRequest(.invalidValue, "\(operation.op.rawValue) without a path takes an object of attributes")
            }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                // Entra ID and others put paths here ("name.givenName", "urn:…:User:department"); an extension's
                // object merges attribute by attribute.
                if SCIMSchema.extensions.contains(where: { $0.caseInsensitiveCompare(key) == .orderedSame }),
                   case .object(let inner) = value {
                    for (k, v) in inner.sorted(by: { $0.key < $1.key }) {
                        try apply(PatchOperation(op: operation.op, path: "\(key):\(k)", value: v), to: &object)
                    }
                } else if key.caseInsensitiveCompare("schemas") == .orderedSame {
                    continue
                } else {
                    try apply(PatchOperation(op: operation.op, path: key, value: value), to: &object)
                }
            }
            return
        }
        if let schema = SCIMSchema.extensions.first(where: { $0.caseInsensitiveCompare(pathText) == .orderedSame }) {
            // The path is an extension's URN: the extension's whole object (add merges, replace sets, remove clears).
            let key = object.key(for: schema) ?? schema
            switch operation.op {
            case .remove:
                object[key] = nil
                if let schemas = object["schemas"]?.array {
                    object["schemas"] = .array(schemas.filter { $0.string?.caseInsensitiveCompare(schema) != .orderedSame })
                }
            case .add, .replace:
                guard case .object(let values)? = operation.value else {
                    throw .badRequest(.invalidValue, "\(schema) takes an object of its attributes")
                }
                if operation.op == .replace { object[key] = nil }
                for (k, v) in values.sorted(by: { $0.key < $1.key }) {
                    try apply(PatchOperation(op: operation.op, path: "\(schema):\(k)", value: v), to: &object)
                }
            }
            return
        }
        let path = try FilterParser.parsePath(pathText)
        let attribute = path.attribute
        guard !SCIMSchema.readOnly.contains(attribute.name.lowercased()) else {
            throw .badRequest(.mutability, "\(attribute.name) is read-only")
        }
        if operation.op != .remove, operation.value == nil { throw .badRequest(.invalidValue, "\(operation.op.rawValue) needs a value") }
        let value = operation.value.map { normalise($0, key: path.filter == nil ? attribute.key : attribute.name.lowercased() + "." + (path.subAfterFilter ?? "").lowercased()) }

        // The object the attribute lives in: the resource, or an extension's object within it.
        var extensionKey: String?
        var container = object
        if let schema = attribute.extensionSchema {
            guard SCIMSchema.extensions.contains(where: { $0.caseInsensitiveCompare(schema) == .orderedSame }) else {
                throw .badRequest(.invalidPath, "\(schema) is not a schema of this resource")
            }
            extensionKey = object.key(for: schema) ?? schema
            container = object[extensionKey!]?.object ?? [:]
        }
        try apply(operation.op, path, value, in: &container)
        if let extensionKey {
            if container.isEmpty { object[extensionKey] = nil } else { object[extensionKey] = .object(container) }
            if var schemas = object["schemas"]?.array, !container.isEmpty, !schemas.contains(.string(extensionKey)) {
                schemas.append(.string(extensionKey))
                object["schemas"] = .array(schemas)
            }
        } else {
            object = container
        }
    }

    private static func apply(_ op: PatchOperation.Op, _ path: PatchPath, _ value: JSON?, in container: inout [String: JSON]) throws(SCIMError) {
        let a = path.attribute
        let key = container.key(for: a.name) ?? a.name
        let multi = SCIMSchema.multiValued.contains(a.name.lowercased())

        if let filter = path.filter {
            guard multi || container[key]?.array != nil else { throw .badRequest(.invalidPath, "\(a.name) is not multi-valued") }
            var elements = container[key]?.array ?? []
            var hits: [Int] = []
            for (i, e) in elements.enumerated() where try FilterEvaluator.matches(filter, e) { hits.append(i) }
            switch op {
            case .remove:
                if let sub = path.subAfterFilter {
                    for i in hits { elements[i] = removing(sub, from: elements[i]) }
                } else {
                    for i in hits.reversed() { elements.remove(at: i) }
                }
            case .add, .replace:
                if hits.isEmpty {
                    // Entra ID: `emails[type eq "work"].value` on a user without a work email creates it.
                    guard case .compare(let p, .eq, let typeValue) = filter, p.sub == nil, p.schema == nil else {
                        throw .badRequest(.noTarget, "no value of \(a.name) matches the filter")
                    }
                    var created: [String: JSON] = [p.name: typeValue]
                    if let sub = path.subAfterFilter { created[sub] = value! }
                    else if case .object(let o)? = value { created.merge(o) { _, new in new } }
                    else { throw .badRequest(.invalidValue, "a value of \(a.name) is an object") }
                    elements.append(.object(created))
                } else {
                    for i in hits {
                        if let sub = path.subAfterFilter {
                            guard case .object(var o) = elements[i] else { continue }
                            o[o.key(for: sub) ?? sub] = value!
                            elements[i] = .object(o)
                        } else if case .object(let new)? = value, case .object(var o) = elements[i] {
                            if op == .replace { o = [:] }
                            o.merge(new) { _, n in n }
                            elements[i] = .object(o)
                        } else {
                            elements[i] = value!
                        }
                    }
                }
            }
            if elements.isEmpty { container[key] = nil } else { container[key] = .array(elements) }
            return
        }

        if let sub = a.sub {
            // A sub-attribute: of a complex attribute, or of every value of a multi-valued one.
            switch container[key] {
            case .array(let elements)?:
                let changed = elements.map { e -> JSON in
                    guard case .object(var o) = e else { return e }
                    if op == .remove { o[o.key(for: sub) ?? sub] = nil } else { o[o.key(for: sub) ?? sub] = value! }
                    return .object(o)
                }
                container[key] = .array(changed)
            default:
                var o = container[key]?.object ?? [:]
                if op == .remove { o[o.key(for: sub) ?? sub] = nil } else { o[o.key(for: sub) ?? sub] = value! }
                container[key] = o.isEmpty ? nil : .object(o)
            }
            return
        }

        switch op {
        case .remove:
            if multi, case .array(let wanted)? = value, case .array(var elements)? = container[key] {
                // Entra ID removes members by listing them: `{"op":"Remove","path":"members","value":[{"value":"…"}]}`.
                elements.removeAll { e in wanted.contains { w in sameValue(w, e) } }
                container[key] = elements.isEmpty ? nil : .array(elements)
            } else {
                container[key] = nil
            }
        case .replace where multi:
            let new = value!.array ?? [value!]
            container[key] = new.isEmpty ? nil : .array(new)
        case .add where multi:
            var elements = container[key]?.array ?? []
            for v in value!.array ?? [value!] where !elements.contains(where: { sameValue(v, $0) }) { elements.append(v) }
            container[key] = elements.isEmpty ? nil : .array(elements)
        case .add, .replace:
            if case .object(let new)? = value, case .object(var old)? = container[key] {
                // A complex attribute: the given sub-attributes replace theirs, the others stay (RFC 7644 §3.5.2.3).
                old.merge(new) { _, n in n }
                container[key] = .object(old)
            } else {
                container[key] = value! == .null ? nil : value!
            }
        }
    }

    /// Two values of a multi-valued attribute are the same value: equal, or complex ones with the same `value`.
    static func sameValue(_ a: JSON, _ b: JSON) -> Bool {
        if a == b { return true }
        if let va = a["value"], let vb = b["value"] { return va == vb && (a["type"] == nil || a["type"] == b["type"]) }
        return false
    }

    private static func removing(_ sub: String, from element: JSON) -> JSON {
        guard case .object(var o) = element else { return element }
        o[o.key(for: sub) ?? sub] = nil
        return .object(o)
    }

    /// Entra ID's "True" / "False" strings become booleans where the schema says boolean.
    static func normalise(_ value: JSON, key: String) -> JSON {
        guard SCIMSchema.booleans.contains(key), case .string(let s) = value else { return value }
        switch s.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: return value
        }
    }
}
