/// A scan of the TOML text before TOMLKit sees it, for the one mistake its bundled toml++ does not report but
/// asserts on (an abort, not an error): a table header whose first key character is neither a bare-key character
/// nor a quote (`[%directory]`, `[[@roles]]`). Found by fuzzing the config parser. The scan follows strings,
/// comments and value brackets, so it looks only at real header lines.
enum TOMLPrecheck {
    /// The 1-based line of the first bad table header and the character found there, or nil.
    static func badTableHeader(_ source: String) -> (line: Int, found: Character)? {
        // Unicode scalars, not Characters: a combining mark after "[" would fold into one Character with it.
        let chars = Array(source.unicodeScalars)
        var i = chars.first == "\u{FEFF}" ? 1 : 0  // a byte-order mark, which toml++ skips too
        var line = 1, depth = 0
        var lineStart = true  // only whitespace seen since the last newline
        func isBare(_ c: Unicode.Scalar) -> Bool {
            c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-")
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\n" { line += 1; lineStart = true; i += 1; continue }
            if c == " " || c == "\t" || c == "\r" { i += 1; continue }
            if c == "#" {  // a comment runs to the end of the line
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "\"" || c == "'" {  // a string: basic, literal, or their multi-line forms
                let triple = i + 2 < chars.count && chars[i + 1] == c && chars[i + 2] == c
                i += triple ? 3 : 1
                while i < chars.count {
                    if c == "\"" && chars[i] == "\\" { i += 2; continue }
                    if chars[i] == "\n" { line += 1; if !triple { break } }
                    if chars[i] == c && (!triple || (i + 2 < chars.count && chars[i + 1] == c && chars[i + 2] == c)) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
                lineStart = false
                continue
            }
            if c == "[" && lineStart && depth == 0 {  // a table header: [key] or [[key]]
                var j = i + 1
                if j < chars.count && chars[j] == "[" { j += 1 }
                while j < chars.count && (chars[j] == " " || chars[j] == "\t") { j += 1 }
                if j < chars.count && !isBare(chars[j]) && chars[j] != "\"" && chars[j] != "'" {
                    return (line, Character(chars[j]))
                }
                while i < chars.count && chars[i] != "\n" && chars[i] != "#" { i += 1 }  // the rest of the header
                lineStart = false
                continue
            }
            if c == "[" || c == "{" { depth += 1 }
            if (c == "]" || c == "}") && depth > 0 { depth -= 1 }
            lineStart = false
            i += 1
        }
        return nil
    }
}
