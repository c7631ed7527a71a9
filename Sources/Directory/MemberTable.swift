/// A hash table from byte strings (normalised member DNs) to dense slot numbers, built for 100,000+ keys:
/// open addressing over 64-bit hashes, every key's bytes in one shared buffer, each hit verified byte
/// for byte (a hash collision can never put someone in the wrong group).
struct MemberTable {
    /// Hash and slot side by side, so a probe touches one cache line.
    private struct Bucket {
        var hash: UInt64 = 0
        var slot: Int32 = -1
    }

    private var buckets: [Bucket]
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int32] = [0]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        buckets = Array(repeating: Bucket(), count: size)
        mask = size - 1
    }

    /// Makes room for `total` keys at once, instead of doubling through every size on the way.
    mutating func reserve(_ total: Int) {
        while total * 2 > buckets.count { grow() }
    }

    /// Number of distinct keys.
    var count: Int { keyStart.count - 1 }

    /// The slot of `key`, or nil.
    func find(_ key: [UInt8]) -> Int32? {
        let h = Self.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        while buckets[i].hash != 0 {
            if buckets[i].hash == h && equals(Int(buckets[i].slot), key) { return buckets[i].slot }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The slot of `key`, adding it when new.
    mutating func insert(_ key: [UInt8]) -> Int32 {
        if (count + 1) * 2 > buckets.count { grow() }
        let h = Self.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        while buckets[i].hash != 0 {
            if buckets[i].hash == h && equals(Int(buckets[i].slot), key) { return buckets[i].slot }
            i = (i + 1) & mask
        }
        let slot = Int32(count)
        buckets[i] = Bucket(hash: h, slot: slot)
        keyBytes.append(contentsOf: key)
        keyStart.append(Int32(keyBytes.count))
        return slot
    }

    private func equals(_ slot: Int, _ key: [UInt8]) -> Bool {
        let start = Int(keyStart[slot])
        let end = Int(keyStart[slot + 1])
        guard end - start == key.count else { return false }
        return keyBytes.withUnsafeBufferPointer { stored in
            key.withUnsafeBufferPointer { probe in
                probe.isEmpty || memcmp(stored.baseAddress! + start, probe.baseAddress!, probe.count) == 0
            }
        }
    }

    private mutating func grow() {
        let size = buckets.count * 2
        var fresh = [Bucket](repeating: Bucket(), count: size)
        let newMask = size - 1
        for bucket in buckets where bucket.hash != 0 {
            var i = Int(truncatingIfNeeded: bucket.hash) & newMask
            while fresh[i].hash != 0 { i = (i + 1) & newMask }
            fresh[i] = bucket
        }
        buckets = fresh
        mask = newMask
    }

    /// A 64-bit hash over 8-byte words (multiply-xorshift, then a final avalanche); never 0, which marks
    /// an empty bucket. Not cryptographic: keys come from our own directory, and hits are verified.
    static func hash(_ key: [UInt8]) -> UInt64 {
        key.withUnsafeBytes { raw -> UInt64 in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
            var offset = 0
            while offset + 8 <= raw.count {
                let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
                offset += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < raw.count {
                tail |= UInt64(raw[offset]) << shift
                shift += 8
                offset += 1
            }
            h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
            h = h &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 32
            return h == 0 ? 1 : h
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
