/// A hash table from byte strings (normalised member DNs) to dense slot numbers, built for 100,000+ keys:
/// open addressing over FNV-1a hashes, every key's bytes in one shared buffer, each hit verified byte
/// for byte (a hash collision can never put someone in the wrong group).
struct MemberTable {
    private var hashes: [UInt64]
    private var slotAt: [Int32]
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int32] = [0]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        hashes = Array(repeating: 0, count: size)
        slotAt = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of distinct keys.
    var count: Int { keyStart.count - 1 }

    /// The slot of `key`, or nil.
    func find(_ key: [UInt8]) -> Int32? {
        let h = Self.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        while hashes[i] != 0 {
            if hashes[i] == h && equals(Int(slotAt[i]), key) { return slotAt[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The slot of `key`, adding it when new.
    mutating func insert(_ key: [UInt8]) -> Int32 {
        if (count + 1) * 2 > hashes.count { grow() }
        let h = Self.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        while hashes[i] != 0 {
            if hashes[i] == h && equals(Int(slotAt[i]), key) { return slotAt[i] }
            i = (i + 1) & mask
        }
        let slot = Int32(count)
        hashes[i] = h
        slotAt[i] = slot
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
        let size = hashes.count * 2
        var newHashes = [UInt64](repeating: 0, count: size)
        var newSlots = [Int32](repeating: -1, count: size)
        let newMask = size - 1
        for (h, slot) in zip(hashes, slotAt) where h != 0 {
            var i = Int(truncatingIfNeeded: h) & newMask
            while newHashes[i] != 0 { i = (i + 1) & newMask }
            newHashes[i] = h
            newSlots[i] = slot
        }
        hashes = newHashes
        slotAt = newSlots
        mask = newMask
    }

    /// FNV-1a, 64 bit, never 0 (0 marks an empty bucket).
    static func hash(_ key: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        h ^= h >> 29
        return h == 0 ? 1 : h
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
