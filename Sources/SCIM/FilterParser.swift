import Foundation

/// Parses SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2; the ABNF of Figure 1): operators and
/// attribute names case-insensitive, `and` binding tighter than `or`, `not` before a parenthesised filter, strings
/// in JSON's double quotes. Anything else — and nesting deeper than `maxDepth` — is a 400 `invalidFilter`
/// (`invalidPath` for a PATCH path).
public struct FilterParser {
    public static let maxDepth = 16
    public static let maxLength = 4096

    enum Token: Equatable {
        case word(String)
        case string(String)
        case open, close, openBracket, closeBracket
    }

    private var tokens: [Token] = []
    private var index = 0
    private var depth = 0
    private let errorKind: SCIMError.Kind

    private init(_ text: String, kind: SCIMError.Kind) throws(SCIMError) {
        errorKind = kind
        guard text.utf8.count <= Self.maxLength else { throw .badRequest(kind, "the filter is longer than \(Self.maxLength) bytes") }
        tokens = try Self.tokenize(text, kind: kind)
    }

    /// A `filter` query parameter.
    public static func parse(_ text: String) throws(SCIMError) -> Filter {
        var p = try FilterParser(text, kind: .invalidFilter)
        guard !p.tokens.isEmpty else { throw .badRequest(.invalidFilter, "the filter is empty") }
        let f = try p.orExpression()
        guard p.index == p.tokens.count else { throw p.fail("unexpected \(p.describe(p.tokens[p.index]))") }
        return f
    }

    /// A PATCH operation's `path`.
    public static func parsePath(_ text: String) throws(SCIMError) -> PatchPath {
        var p = try FilterParser(text, kind: .invalidPath)
        guard case .word(let word)? = p.next() else { throw .badRequest(.invalidPath, "the path is empty or not an attribute") }
        let attribute = try p.attributePath(word)
        var filter: Filter?
        var sub: String?
        if p.peek == .openBracket {
            p.index += 1
            filter = try p.orExpression()
            guard p.next() == .closeBracket else { throw .badRequest(.invalidPath, "a value filter without its ]") }
            if case .word(let rest)? = p.peek, rest.hasPrefix(".") {
                p.index += 1
                sub = String(rest.dropFirst())
                guard Self.isName(sub!) else { throw .badRequest(.invalidPath, "\(rest) is not a sub-attribute") }
            }
            guard attribute.sub == nil else { throw .badRequest(.invalidPath, "a value filter after a sub-attribute") }
        }
        guard p.index == p.tokens.count else { throw .badRequest(.invalidPath, "unexpected text after the path") }
        return PatchPath(attribute: attribute, filter: filter, subAfterFilter: sub)
    }

    // MARK: - Grammar

    private mutating func orExpression() throws(SCIMError) -> Filter {
        var left = try andExpression()
        while keyword("or") { left = .or(left, try andExpression()) }
        return left
    }

    private mutating func andExpression() throws(SCIMError) -> Filter {
        var left = try unary()
        while keyword("and") { left = .and(left, try unary()) }
        return left
    }

    private mutating func unary() throws(SCIMError) -> Filter {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
        if keyword("not") {
            guard next() == .open else { throw fail("not must be followed by (") }
            let inner = try orExpression()
            guard next() == .close else { throw fail("a ( without its )") }
            return .not(inner)
        }
        if peek == .open {
            index += 1
            let inner = try orExpression()
            guard next() == .close else { throw fail("a ( without its )") }
            return inner
        }
        guard case .word(let word)? = next() else { throw fail("an attribute was expected") }
        let path = try attributePath(word)
        if peek == .openBracket {
            index += 1
            guard path.sub == nil else { throw fail("a value filter after a sub-attribute") }
            let inner = try orExpression()
            guard next() == .closeBracket else { throw fail("a [ without its ]") }
            return .valuePath(path, inner)
        }
        guard case .word(let opWord)? = next() else { throw fail("an operator was expected after \(path)") }
        if opWord.lowercased() == "pr" { return .present(path) }
        guard let op = Filter.Op(rawValue: opWord.lowercased()) else { throw fail("\(opWord) is not an operator") }
        switch next() {
        case .string(let s)?: return .compare(path, op, .string(s))
        case .word(let w)?:
            switch w.lowercased() {
            case "true": return .compare(path, op, .bool(true))
            case "false": return .compare(path, op, .bool(false))
            case "null": return .compare(path, op, .null)
            default:
                guard let n = Double(w), w.first.map({ $0 == "-" || $0.isNumber }) == true else {
                    throw fail("\(w) is not a value (strings are in double quotes)")
                }
                return .compare(path, op, .number(n))
            }
        default: throw fail("a value was expected after \(opWord)")
        }
    }

    /// `[URN ":"] name ["." sub]`: the URN is everything up to the last colon.
    private func attributePath(_ word: String) throws(SCIMError) -> AttributePath {
        var schema: String?
        var rest = Substring(word)
        if let colon = word.lastIndex(of: ":") {
            schema = String(word[..<colon])
            rest = word[word.index(after: colon)...]
            guard schema!.lowercased().hasPrefix("urn:") else { throw fail("\(word) is not an attribute path") }
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy(Self.isName) else { throw fail("\(word) is not an attribute path") }
        return AttributePath(schema: schema, parts[0], sub: parts.count == 2 ? parts[1] : nil)
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.properties.isAlphabetic || first == "$" else { return false }
        return s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "$" }
    }

    // MARK: - Tokens

    private var peek: Token? { index < tokens.count ? tokens[index] : nil }

    private mutating func next() -> Token? {
        defer { index += 1 }
        return peek
    }

    private mutating func keyword(_ k: String) -> Bool {
        if case .word(let w)? = peek, w.lowercased() == k { index += 1; return true }
        return false
    }

    private func fail(_ detail: String) -> SCIMError { .badRequest(errorKind, "\(errorKind == .invalidPath ? "path" : "filter"): \(detail)") }

    private func describe(_ t: Token) -> String {
        switch t {
        case .word(let w): w
        case .string(let s): "\"\(s)\""
        case .open: "("
        case .close: ")"
        case .openBracket: "["
        case .closeBracket: "]"
        }
    }

    private static func tokenize(_ text: String, kind: SCIMError.Kind) throws(SCIMError) -> [Token] {
        var out: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case " ", "\t", "\n", "\r": i += 1
            case "(": out.append(.open); i += 1
            case ")": out.append(.close); i += 1
            case "[": out.append(.openBracket); i += 1
            case "]": out.append(.closeBracket); i += 1
            case "\"":
                // A JSON string: its escapes decoded by JSON's own rules.
                var j = i + 1
                var escaped = false
                while j < chars.count, escaped || chars[j] != "\"" {
                    escaped = !escaped && chars[j] == "\\"
                    j += 1
                }
                guard j < chars.count else { throw .badRequest(kind, "a string without its closing quote") }
                var raw = String.UnicodeScalarView()
                raw.append(contentsOf: chars[i...j])
                guard case .string(let s)? = try? JSON.parse(Data(String(raw).utf8)) else {
                    throw .badRequest(kind, "a string with a bad escape")
                }
                out.append(.string(s))
                i = j + 1
            default:
                var j = i
                while j < chars.count, !" \t\n\r()[]\"".unicodeScalars.contains(chars[j]) { j += 1 }
                var word = String.UnicodeScalarView()
                word.append(contentsOf: chars[i..<j])
                out.append(.word(String(word)))
                i = j
            }
        }
        return out
    }
}
