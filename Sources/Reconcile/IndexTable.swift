/// An open-addressing hash table from string keys to positions in the caller's arrays (accounts by id, people by
/// anchor …). Swift's `Dictionary<String, _>` hashes with SipHash through `Hasher`; at a million entries that is
/// most of a diff's time. This hashes the UTF-8 bytes eight at a time and keeps only `Int32` positions; the keys
/// stay in the caller's values, compared through `key(_:)` only when the stored hashes agree.
struct IndexTable {
    /// The hash's high 32 bits and the position side by side in 8 bytes (one cache line per probe, half the memory
    /// of a full hash); position -1 is an empty slot. Keys whose tags agree are compared as strings.
    private struct Slot { var tag: UInt32; var position: Int32 }
    private var slots: [Slot]
    let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Slot](repeating: Slot(tag: 0, position: -1), count: size)
        mask = size - 1
    }

    /// Inserts `position` under `key` (whose `hash` the caller computed) unless the key is present; returns the
    /// position already stored, if any.
    @discardableResult
    mutating func insert(_ key: String, hash h: UInt64, position: Int32, key keyAt: (Int32) -> String?) -> Int32? {
        var i = Int(truncatingIfNeeded: h) & mask
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        while true {
            let s = slots[i]
            if s.position < 0 {
                slots[i] = Slot(tag: tag, position: position)
                return nil
            }
            if s.tag == tag, keyAt(s.position) == key { return s.position }
            i = (i + 1) & mask
        }
    }

    func find(_ key: String, key keyAt: (Int32) -> String?) -> Int32? {
        let h = Self.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        while true {
            let s = slots[i]
            if s.position < 0 { return nil }
            if s.tag == tag, keyAt(s.position) == key { return s.position }
            i = (i + 1) & mask
        }
    }

    /// A fast 64-bit hash of the UTF-8 bytes (multiply-xorshift over 8-byte words; not for untrusted
    /// collision-resistance — keys come from our own directory and MixerAI reads).
    static func hash(_ s: String) -> UInt64 {
        if let h = s.utf8.withContiguousStorageIfAvailable(hash(bytes:)) { return h }
        var copy = s
        return copy.withUTF8(hash(bytes:))
    }

    static func hash(bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        do {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
            var i = 0
            let n = bytes.count
            guard let base = bytes.baseAddress else { return h }
            while i + 8 <= n {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 29
                i += 8
            }
            h = (h ^ tailWord(base, from: i, to: n)) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 31
            h = h &* 0xBF58_476D_1CE4_E5B9
            return h ^ (h >> 32)
        }
    }
}

/// Like `IndexTable`, for keys that are server-generated identifiers (directory anchors, MixerAI user ids): a key
/// is identified by 96 bits of two independent hashes of its bytes, so a lookup never dereferences the stored key.
/// Two different identifiers agreeing on 96 bits is not a case worth a cache miss per lookup; emails, which people
/// type, go through `IndexTable`, which compares the strings.
struct IdentifierTable {
    /// 96 bits of identity and the position in 16 bytes.
    private struct Slot { var h1: UInt64; var h2: UInt32; var position: Int32 }
    private var slots: [Slot]
    let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity + capacity / 2 { size <<= 1 }
        slots = [Slot](repeating: Slot(h1: 0, h2: 0, position: -1), count: size)
        mask = size - 1
    }

    /// Inserts unless present (the key's hashes computed by the caller); returns the position already stored under
    /// an identical key.
    @discardableResult
    mutating func insert(h1: UInt64, h2: UInt32, position: Int32) -> Int32? {
        var i = Int(truncatingIfNeeded: h1) & mask
        while true {
            let s = slots[i]
            if s.position < 0 {
                slots[i] = Slot(h1: h1, h2: h2, position: position)
                return nil
            }
            if s.h1 == h1 && s.h2 == h2 { return s.position }
            i = (i + 1) & mask
        }
    }

    func find(_ key: String) -> Int32? {
        let (h1, wide) = Self.hash(key)
        return find(h1: h1, h2: UInt32(truncatingIfNeeded: wide))
    }

    func find(h1: UInt64, h2: UInt32) -> Int32? {
        var i = Int(truncatingIfNeeded: h1) & mask
        while true {
            let s = slots[i]
            if s.position < 0 { return nil }
            if s.h1 == h1 && s.h2 == h2 { return s.position }
            i = (i + 1) & mask
        }
    }

    static func hash(_ s: String) -> (UInt64, UInt64) {
        if let h = s.utf8.withContiguousStorageIfAvailable(hash(bytes:)) { return h }
        var copy = s
        return copy.withUTF8(hash(bytes:))
    }

    /// Two independent multiply-xorshift lanes over the same 8-byte words, each finished with a full avalanche.
    static func hash(bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F &+ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return (a, b) }
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            a = (a ^ w) &* 0xBF58_476D_1CE4_E5B9
            a ^= a >> 29
            b = (b &+ w) &* 0x94D0_49BB_1331_11EB
            b ^= b >> 32
            b = (b ^ (b << 7)) &+ 0x2545_F491_4F6C_DD1D
            i += 8
        }
        let tail = tailWord(base, from: i, to: n)
        return (finish(a ^ tail), finish((b &+ tail) &* 0xFF51_AFD7_ED55_8CCD))
    }

    static func finish(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The last 0–7 bytes of a key as one little-endian word (both hashes end with it).
@inline(__always)
func tailWord(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> UInt64 {
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    for i in start..<end {
        tail |= UInt64(base[i]) << shift
        shift += 8
    }
    return tail
}

/// Positions 0..<n ordered by their home slot (`hash & mask`), stably (equal homes keep input order). Inserting a
/// million keys in this order writes a table's slots front to back instead of at random: a build that was bound by
/// cache and TLB misses becomes a sequential pass. LSD radix sort, 11 bits a pass.
func homeSlotOrder(_ hashes: [UInt64], mask: Int) -> [Int32] {
    let n = hashes.count
    var order = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n { buffer[i] = Int32(i) }
        count = n
    }
    guard n > 1 else { return order }
    var scratch = [Int32](repeating: 0, count: n)
    let bits = mask.nonzeroBitCount
    var shift = 0
    hashes.withUnsafeBufferPointer { h in
        while shift < bits {
            let width = min(11, bits - shift)
            let digitMask = UInt64((1 << width) - 1)
            var counts = [Int](repeating: 0, count: (1 << width) + 1)
            for p in order { counts[Int((h[Int(p)] >> UInt64(shift)) & digitMask) + 1] += 1 }
            for d in 1..<counts.count { counts[d] += counts[d - 1] }
            for p in order {
                let d = Int((h[Int(p)] >> UInt64(shift)) & digitMask)
                scratch[counts[d]] = p
                counts[d] += 1
            }
            swap(&order, &scratch)
            shift += width
        }
    }
    return order
}
