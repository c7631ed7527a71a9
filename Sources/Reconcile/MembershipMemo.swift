/// Values that depend only on a person's memberships, computed once per distinct set (most people share a handful
/// of sets). The directory reader hands people with the same memberships one shared array, so the array's storage
/// identifies the set without hashing its contents; the contents are the fallback key.
struct MembershipMemo<Value> {
    private var byStorage: [Int: Value] = [:]
    private var byContent: [[GroupMembership]: Value] = [:]
    private var lastStorage = 0
    private var last: Value?

    mutating func value(for groups: [GroupMembership], compute: () -> Value) -> Value {
        let storage = groups.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
        if storage != 0 {
            if storage == lastStorage, let known = last { return known }
            if let known = byStorage[storage] {
                (lastStorage, last) = (storage, known)
                return known
            }
        }
        let value: Value
        if let known = byContent[groups] {
            value = known
        } else {
            value = compute()
            byContent[groups] = value
        }
        if storage != 0 {
            byStorage[storage] = value
            (lastStorage, last) = (storage, value)
        }
        return value
    }
}
