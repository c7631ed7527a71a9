import Config
import Foundation
import LDAPClient
import Reconcile
import SCIM
import State
import Synchronization

/// `source = "scim"`: the people are what the IdP pushed, read from the state in one transaction — complete by
/// construction (what was acknowledged was committed), so a SCIM read is never partial. The proof names the bridge.
public struct SCIMDirectorySource: DirectorySource {
    let config: MixerSyncConfig

    public init(_ config: MixerSyncConfig) { self.config = config }

    public func read(roleGroups: [String], now: Date) async throws -> DirectorySnapshot {
        let started = Date()
        let store = try config.openState()
        let everything = try await store.perform { try $0.scimEverything() }
        let built = PersonBuilder.build(users: everything.users.map(Self.parsed), groups: everything.groups.map(Self.parsed),
                                        members: everything.members)
        var problems = built.problems
        let known = Set(built.groups.map { DistinguishedName.normalize($0.dn) })
        for group in roleGroups where !known.contains(DistinguishedName.normalize(group)) {
            problems.append(.missingRoleGroup(dn: group))
        }
        let search = SearchRecord(name: "scim", base: "scim_resource", scope: "all", filter: "(users and groups the IdP pushed)",
                                  entries: everything.users.count, pages: 1, ldapsearch: "")
        let proof = CompletenessProof(server: "scim://\(config.scim?.listen ?? "")", searches: [search],
                                      entries: everything.users.count, pages: 1,
                                      durationMilliseconds: Int(Date().timeIntervalSince(started) * 1000))
        return DirectorySnapshot(people: built.people, groups: built.groups, problems: problems, proof: proof)
    }
}

extension SCIMDirectorySource {
    /// Parsed resources by id, kept while their version stands: the fast path reads every user on each pass, and
    /// parsing 10,000 JSON bodies each time cost two thirds of a second.
    private static let cache = Mutex<[String: SCIMStored]>([:])

    static func parsed(_ row: SCIMRow) -> SCIMStored {
        if let hit = cache.withLock({ $0[row.id] }), hit.version == row.version, hit.deleted == row.deleted,
           hit.externalId == row.externalId, hit.name == row.name {
            return hit
        }
        let fresh = StateSCIMRepository.stored(row)
        cache.withLock { $0[row.id] = fresh }
        return fresh
    }
}

/// The SCIM service's storage on the state (`scim_resource`, `scim_member`, `scim_request`): each `put` is one
/// transaction. Called on the state's own thread (`StateStore.perform`).
struct StateSCIMRepository: SCIMRepository {
    let store: StateStore

    func resource(id: String) throws -> SCIMStored? { try store.scimResource(id: id).map(Self.stored) }

    func resources(kind: SCIMStored.Kind, name: String?, externalId: String?) throws -> [SCIMStored] {
        try store.scimResources(kind: Self.kind(kind), name: name, externalId: externalId).map(Self.stored)
    }

    func members(group: String) throws -> [String] { try store.scimMembers(group: group) }

    func groups(user: String) throws -> [(id: String, displayName: String)] {
        try store.scimGroups(user: user).map { g in
            let body = (try? JSON.parse(Data(g.body.utf8))) ?? .null
            return (g.id, body["displayName"]?.string ?? "")
        }
    }

    func put(_ r: SCIMStored, members: [MemberChange], method: String, summary: String) throws {
        let row = SCIMRow(id: r.id, kind: Self.kind(r.kind), externalId: r.externalId, name: r.name,
                          body: String(decoding: JSON.object(r.attributes).encoded(), as: UTF8.self), version: r.version,
                          created: r.created, modified: r.modified, deleted: r.deleted)
        let changes: [SCIMMembers] = members.map {
            switch $0 {
            case .add(let ids): .add(ids)
            case .remove(let ids): .remove(ids)
            case .replace(let ids): .replace(ids)
            }
        }
        try store.scimPut(row, members: changes, request: SCIMRequestRecord(at: r.modified, resourceId: r.id, method: method,
                                                                            summary: summary))
    }

    static func kind(_ k: SCIMStored.Kind) -> SCIMRow.Kind { k == .user ? .user : .group }

    static func stored(_ row: SCIMRow) -> SCIMStored {
        let attributes = (try? JSON.parse(Data(row.body.utf8)))?.object ?? [:]
        return SCIMStored(id: row.id, kind: row.kind == .user ? .user : .group, externalId: row.externalId, name: row.name,
                          attributes: attributes, version: row.version, created: row.created, modified: row.modified,
                          deleted: row.deleted)
    }
}
