import Foundation

/// A stored resource as the SCIM service sees it: the attributes the IdP wrote (no `id`, `meta`, a group's
/// `members` or a user's `groups`: those are the server's and assembled on the way out).
public struct SCIMStored: Sendable, Equatable {
    public enum Kind: String, Sendable { case user = "User", group = "Group" }
    public var id: String
    public var kind: Kind
    public var externalId: String?
    /// `userName` / `displayName` lower-cased: unique among the live resources of a kind.
    public var name: String
    public var attributes: [String: JSON]
    public var version: Int
    public var created: Date
    public var modified: Date
    public var deleted: Bool

    public init(id: String, kind: Kind, externalId: String?, name: String, attributes: [String: JSON], version: Int,
                created: Date, modified: Date, deleted: Bool = false) {
        self.id = id
        self.kind = kind
        self.externalId = externalId
        self.name = name
        self.attributes = attributes
        self.version = version
        self.created = created
        self.modified = modified
        self.deleted = deleted
    }
}

/// A change to a group's members, written with the group.
public enum MemberChange: Sendable, Equatable {
    case replace([String])
    case add([String])
    case remove([String])
}

/// Where the SCIM service keeps what the IdP pushed. Every `put` is one durable transaction: the service answers
/// 2xx only after it returned.
public protocol SCIMRepository {
    func resource(id: String) throws -> SCIMStored?
    func resources(kind: SCIMStored.Kind, name: String?, externalId: String?) throws -> [SCIMStored]
    func members(group: String) throws -> [String]
    /// The live groups a user belongs to: id and displayName.
    func groups(user: String) throws -> [(id: String, displayName: String)]
    func put(_ resource: SCIMStored, members: [MemberChange], method: String, summary: String) throws
}

/// The repository in memory (the service's unit tests and the fuzz targets).
public final class InMemorySCIMRepository: SCIMRepository, @unchecked Sendable {
    public private(set) var stored: [String: SCIMStored] = [:]
    public private(set) var memberships: [String: Set<String>] = [:]
    public private(set) var requests: [(id: String, method: String, summary: String)] = []

    public init() {}

    public func resource(id: String) throws -> SCIMStored? { stored[id] }

    public func resources(kind: SCIMStored.Kind, name: String?, externalId: String?) throws -> [SCIMStored] {
        stored.values.filter { r in
            r.kind == kind && !r.deleted && (name == nil || r.name == name) && (externalId == nil || r.externalId == externalId)
        }.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
    }

    public func members(group: String) throws -> [String] { (memberships[group] ?? []).sorted() }

    public func groups(user: String) throws -> [(id: String, displayName: String)] {
        memberships.filter { $0.value.contains(user) }.keys.sorted().compactMap { id in
            guard let g = stored[id], !g.deleted else { return nil }
            return (id, g.attributes["displayName"]?.string ?? "")
        }
    }

    public func put(_ resource: SCIMStored, members: [MemberChange], method: String, summary: String) throws {
        stored[resource.id] = resource
        for change in members {
            switch change {
            case .replace(let ids): memberships[resource.id] = Set(ids)
            case .add(let ids): memberships[resource.id, default: []].formUnion(ids)
            case .remove(let ids): memberships[resource.id, default: []].subtract(ids)
            }
        }
        if resource.deleted {
            memberships[resource.id] = nil
            for key in memberships.keys { memberships[key]?.remove(resource.id) }
        }
        requests.append((resource.id, method, summary))
    }
}
