/// Finds the line of a key in the TOML source. TOMLKit reports lines for syntax errors only, so for
/// unknown keys and wrong types we scan the text: table headers, arrays of tables and `key =` lines.
struct KeyLocator {
    private var lines: [String: Int] = [:]

    init(source: String) {
        var path = ""
        var arrayCounts: [String: Int] = [:]
        for (number, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.stripComment(String(rawLine)).trimmingCharacters(in: " \t\r")
            if line.isEmpty { continue }
            if line.hasPrefix("[[") && line.hasSuffix("]]") {
                let name = Self.cleanKey(String(line.dropFirst(2).dropLast(2)))
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                path = "\(name)[\(index)]"
                record(path, number + 1)
            } else if line.hasPrefix("[") && line.hasSuffix("]") {
                path = Self.cleanKey(String(line.dropFirst().dropLast()))
                record(path, number + 1)
            } else if let equals = Self.keyEnd(line) {
                let key = Self.cleanKey(String(line[..<equals]))
                record(path.isEmpty ? key : "\(path).\(key)", number + 1)
            }
        }
    }

    private mutating func record(_ key: String, _ line: Int) {
        if lines[key] == nil { lines[key] = line }
    }

    /// The line of `key` (a dotted path with `[i]` for arrays of tables), or of its nearest enclosing table.
    func line(of key: String) -> Int? {
        var candidate = key
        while true {
            if let line = lines[candidate] { return line }
            guard let dot = candidate.lastIndex(of: ".") else { return nil }
            candidate = String(candidate[..<dot])
        }
    }

    /// The position of the `=` of a `key = value` line, ignoring `=` inside quoted keys.
    private static func keyEnd(_ line: String) -> String.Index? {
        firstUnquoted("=", in: line)
    }

    private static func stripComment(_ line: String) -> String {
        firstUnquoted("#", in: line).map { String(line[..<$0]) } ?? line
    }

    /// The first `target` outside single or double quotes.
    private static func firstUnquoted(_ target: Character, in line: String) -> String.Index? {
        var quote: Character?
        for index in line.indices {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == target {
                return index
            }
        }
        return nil
    }

    private static func cleanKey(_ raw: String) -> String {
        raw.split(separator: ".").map {
            $0.trimmingCharacters(in: " \t").trimmingCharacters(in: "\"'")
        }.joined(separator: ".")
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
