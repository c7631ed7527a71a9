import Foundation

/// Email normalisation used for every comparison: trimmed, Unicode NFC, lower-cased.
public enum EmailAddress {
    /// The normalised form, or nil when nothing is left after trimming.
    public static func normalize(_ raw: String) -> String? {
        // Fast path: printable ASCII with no surrounding space is already NFC; only case folds.
        if let f = raw.utf8.first, let l = raw.utf8.last, f > 0x20, l > 0x20,
           raw.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
            if !raw.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) { return raw }
            return String(decoding: raw.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
        }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        return trimmed.precomposedStringWithCanonicalMapping.lowercased()
    }
}
