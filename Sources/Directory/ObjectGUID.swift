/// Active Directory's objectGUID: 16 bytes, the first three fields little-endian, shown in the
/// canonical lowercase 8-4-4-4-12 form (docs/directory.md: anchors).
public enum ObjectGUID {
    public static func canonical(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        let order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(36)
        for index in order {
            if index < 0 { out.append("-"); continue }
            out.append(digits[Int(bytes[index] >> 4)])
            out.append(digits[Int(bytes[index] & 0x0f)])
        }
        return out
    }
}
