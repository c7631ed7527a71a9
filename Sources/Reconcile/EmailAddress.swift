import Foundation

/// Email normalisation used for every comparison: trimmed, Unicode NFC, lower-cased.
public enum EmailAddress {
    /// The normalised form, or nil when nothing is left after trimming.
    public static func normalize(_ raw: String) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        return trimmed.precomposedStringWithCanonicalMapping.lowercased()
    }
}
