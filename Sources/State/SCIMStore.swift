import Foundation

/// One resource an IdP pushed over SCIM, as stored (docs/scim.md): its JSON text without server-made attributes
/// (`meta`, a group's `members`, a user's `groups` are assembled when it is read).
public struct SCIMRow: Sendable, Equatable {
    public enum Kind: String, Sendable { case user = "User", group = "Group" }
    public var id: String
    public var kind: Kind
    public var externalId: String?
    /// `userName` or a group's `displayName`, lower-cased: unique among the resources of a kind that are not deleted.
    public var name: String
    public var body: String
    public var version: Int
    public var created: Date
    public var modified: Date
    public var deleted: Bool

    public init(id: String, kind: Kind, externalId: String?, name: String, body: String, version: Int, created: Date,
                modified: Date, deleted: Bool = false) {
        self.id = id
        self.kind = kind
        self.externalId = externalId
        self.name = name
        self.body = body
        self.version = version
        self.created = created
        self.modified = modified
        self.deleted = deleted
    }
}

/// A request that changed a resource, kept for `explain` ("POST /Users by the IdP at …").
public struct SCIMRequestRecord: Sendable, Equatable {
    public var at: Date
    public var resourceId: String
    public var method: String
    public var summary: String

    public init(at: Date, resourceId: String, method: String, summary: String) {
        self.at = at
        self.resourceId = resourceId
        self.method = method
        self.summary = summary
    }
}

/// A change to one group's members.
public enum SCIMMembers: Sendable, Equatable {
    case replace([String])
    case add([String])
    case remove([String])
}

extension StateStore {
    /// Writes a resource (new or a new version) — and, for a group, its members — with the request that did it, in
    /// one transaction: the IdP's 2xx is sent only after this commits.
    public func scimPut(_ row: SCIMRow, members: [SCIMMembers] = [], request: SCIMRequestRecord) throws {
        try db.write { tx in
            try tx.execute("""
                INSERT INTO scim_resource (id, type, external_id, name, body, version, created, modified, deleted)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, name = excluded.name, body = excluded.body,
                    version = excluded.version, modified = excluded.modified, deleted = excluded.deleted
                """, [row.id, row.kind.rawValue, row.externalId, row.name, row.body, row.version, row.created, row.modified,
                      row.deleted])
            for change in members {
                switch change {
                case .replace(let ids):
                    try tx.execute("DELETE FROM scim_member WHERE group_id = ?", [row.id])
                    for id in Set(ids) { try Self.addMember(tx, group: row.id, user: id) }
                case .add(let ids):
                    for id in Set(ids) { try Self.addMember(tx, group: row.id, user: id) }
                case .remove(let ids):
                    for id in Set(ids) { try tx.execute("DELETE FROM scim_member WHERE group_id = ? AND user_id = ?", [row.id, id]) }
                }
            }
            if row.deleted {
                try tx.execute("DELETE FROM scim_member WHERE group_id = ? OR user_id = ?", [row.id, row.id])
            }
            try tx.execute("INSERT INTO scim_request (at, resource_id, method, summary) VALUES (?, ?, ?, ?)",
                           [request.at, request.resourceId, request.method, request.summary])
        }
    }

    private static func addMember(_ tx: any SQLTransaction, group: String, user: String) throws {
        try tx.execute("INSERT INTO scim_member (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [group, user])
    }

    /// One resource by id (deleted ones too: the caller decides).
    public func scimResource(id: String) throws -> SCIMRow? {
        try scimRows("id = ?", [id]).first
    }

    /// The live resources of a kind, optionally only those with a name or external id (an indexed lookup).
    public func scimResources(kind: SCIMRow.Kind, name: String? = nil, externalId: String? = nil) throws -> [SCIMRow] {
        var condition = "type = ? AND deleted = 0"
        var arguments: [any SQLBindable] = [kind.rawValue]
        if let name { condition += " AND name = ?"; arguments.append(name) }
        if let externalId { condition += " AND external_id = ?"; arguments.append(externalId) }
        return try scimRows(condition + " ORDER BY created, id", arguments)
    }

    /// Every user, deleted ones included (a deleted user is a leaver), every live group, and the memberships.
    public func scimEverything() throws -> (users: [SCIMRow], groups: [SCIMRow], members: [(group: String, user: String)]) {
        try db.read { tx in
            let users = try tx.rows("SELECT * FROM scim_resource WHERE type = 'User' ORDER BY id", []).map(Self.scimRow)
            let groups = try tx.rows("SELECT * FROM scim_resource WHERE type = 'Group' AND deleted = 0 ORDER BY id", [])
                .map(Self.scimRow)
            let members = try tx.rows("SELECT group_id, user_id FROM scim_member", []).map {
                (group: try $0.text("group_id"), user: try $0.text("user_id"))
            }
            return (users, groups, members)
        }
    }

    public func scimMembers(group: String) throws -> [String] {
        try db.read { tx in
            try tx.rows("SELECT user_id FROM scim_member WHERE group_id = ? ORDER BY user_id", [group]).map { try $0.text("user_id") }
        }
    }

    /// The live groups a user is a member of: (id, displayName as stored).
    public func scimGroups(user: String) throws -> [(id: String, body: String)] {
        try db.read { tx in
            try tx.rows("""
                SELECT r.id, r.body FROM scim_member m JOIN scim_resource r ON r.id = m.group_id
                WHERE m.user_id = ? AND r.deleted = 0 ORDER BY r.id
                """, [user]).map { (id: try $0.text("id"), body: try $0.text("body")) }
        }
    }

    /// The requests that changed these resources, oldest first (at most `limit` per resource, the latest).
    public func scimRequests(resources: [String], limit: Int = 20) throws -> [SCIMRequestRecord] {
        try db.read { tx in
            var out: [SCIMRequestRecord] = []
            for id in resources {
                let rows = try tx.rows("SELECT * FROM scim_request WHERE resource_id = ? ORDER BY id DESC LIMIT ?", [id, limit])
                out += try rows.reversed().map {
                    SCIMRequestRecord(at: try $0.date("at"), resourceId: try $0.text("resource_id"), method: try $0.text("method"),
                                      summary: try $0.text("summary"))
                }
            }
            return out
        }
    }

    func scimRows(_ condition: String, _ arguments: [any SQLBindable]) throws -> [SCIMRow] {
        try db.read { tx in try tx.rows("SELECT * FROM scim_resource WHERE \(condition)", arguments).map(Self.scimRow) }
    }

    static func scimRow(_ row: SQLRow) throws -> SCIMRow {
        SCIMRow(id: try row.text("id"), kind: SCIMRow.Kind(rawValue: try row.text("type")) ?? .user,
                externalId: try row.textOrNil("external_id"), name: try row.text("name"), body: try row.text("body"),
                version: try row.int("version"), created: try row.date("created"), modified: try row.date("modified"),
                deleted: try row.bool("deleted"))
    }
}
