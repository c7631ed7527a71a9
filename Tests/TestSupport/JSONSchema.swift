import Foundation
import Sandbox

/// A JSON Schema (draft 2020-12) validator for the keywords `docs/report.schema.json` uses: `type` (one or a list),
/// `const`, `enum`, `required`, `properties`, `additionalProperties` (false or a schema), `items`, `pattern` and
/// local `$ref`s to `#/$defs/…`. A keyword it does not know is a failure, so the schema cannot silently use more.
public struct JSONSchema: Sendable {
    let root: JSONValue
    static let known: Set<String> = ["$schema", "$id", "title", "description", "type", "const", "enum", "required",
                                     "properties", "additionalProperties", "items", "pattern", "$ref", "$defs"]

    public init(_ root: JSONValue) { self.root = root }

    /// The report schema in this repository.
    public static func report() throws -> JSONSchema {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("docs/report.schema.json").path
        guard let data = FileManager.default.contents(atPath: path), let json = JSONValue.parse(data) else {
            throw SchemaError(description: "cannot read \(path)")
        }
        return JSONSchema(json)
    }

    struct SchemaError: Error, CustomStringConvertible { var description: String }

    /// Every violation, as "path: what is wrong"; empty when the document is valid.
    public func violations(_ document: JSONValue) -> [String] {
        var out: [String] = []
        check(document, against: root, at: "$", into: &out)
        return out
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.string else { return schema }
        var node = root
        for part in ref.dropFirst(2).split(separator: "/") { node = node[String(part)] ?? .null }
        return node
    }

    private static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private func check(_ value: JSONValue, against raw: JSONValue, at path: String, into out: inout [String]) {
        if case .bool(let allowed) = raw {
            if !allowed { out.append("\(path): not allowed") }
            return
        }
        let schema = resolve(raw)
        for key in schema.object?.keys.map({ $0 }) ?? [] where !Self.known.contains(key) {
            out.append("\(path): the schema uses \(key), which this validator does not know")
        }
        if let types = schema["type"] {
            let allowed = types.array?.compactMap(\.string) ?? [types.string ?? ""]
            let actual = Self.typeName(value)
            guard allowed.contains(actual) || (actual == "integer" && allowed.contains("number")) else {
                out.append("\(path): \(actual), expected \(allowed.joined(separator: " or "))")
                return
            }
        }
        if let constant = schema["const"], constant != value { out.append("\(path): must be \(constant.text())") }
        if let options = schema["enum"]?.array, !options.contains(value) {
            out.append("\(path): \(value.text()) is not one of \(options.map { $0.text() }.joined(separator: ", "))")
        }
        if let pattern = schema["pattern"]?.string, let text = value.string,
           text.range(of: pattern, options: .regularExpression) == nil {
            out.append("\(path): \"\(text)\" does not match \(pattern)")
        }
        if let object = value.object {
            for key in schema["required"]?.array?.compactMap(\.string) ?? [] where object[key] == nil {
                out.append("\(path): missing \(key)")
            }
            let properties = schema["properties"]?.object ?? [:]
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                if let sub = properties[key] {
                    check(item, against: sub, at: "\(path).\(key)", into: &out)
                } else if let extra = schema["additionalProperties"] {
                    check(item, against: extra, at: "\(path).\(key)", into: &out)
                }
            }
        }
        if let array = value.array, let items = schema["items"] {
            for (i, item) in array.enumerated() { check(item, against: items, at: "\(path)[\(i)]", into: &out) }
        }
    }
}
