import Foundation

/// One HTTP request to the bridge, path relative to `/scim/v2`.
public struct SCIMRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var ifMatch: String?
    public var body: Data

    public init(method: String, path: String, query: [String: String] = [:], ifMatch: String? = nil, body: Data = Data()) {
        self.method = method
        self.path = path
        self.query = query
        self.ifMatch = ifMatch
        self.body = body
    }
}

/// What the bridge learnt from a request that changed something (the daemon acts on it).
public enum SCIMEvent: Sendable, Equatable {
    /// A user became inactive or was deleted: leaver evidence, the fast path.
    case leaver(id: String)
    /// Anything else that may change a plan (a new user, a reactivation, a membership): a debounced full plan.
    case changed
}

public struct SCIMResponse: Sendable {
    public var status: Int
    public var body: JSON?
    public var location: String?
    public var etag: String?
    public var events: [SCIMEvent]

    public init(status: Int, body: JSON? = nil, location: String? = nil, etag: String? = nil, events: [SCIMEvent] = []) {
        self.status = status
        self.body = body
        self.location = location
        self.etag = etag
        self.events = events
    }

    public static func error(_ e: SCIMError) -> SCIMResponse { SCIMResponse(status: e.status, body: e.json) }
}

/// The SCIM 2.0 resources (RFC 7644 §3): Users and Groups with list/filter/paging/projection, create, read,
/// replace, PATCH and delete, ETags, and the discovery endpoints. Storage is a `SCIMRepository`; the service holds
/// nothing between requests. Requests must reach it one at a time (the daemon runs it on the state's thread).
public struct SCIMService: Sendable {
    public var base: String
    public var maxResults = 1000
    public var maxPayload = 1_048_576
    public var clock: @Sendable () -> Date = { Date() }
    public var newId: @Sendable () -> String = { UUID().uuidString.lowercased() }

    public init(base: String) { self.base = base }

    public func handle(_ request: SCIMRequest, _ repo: any SCIMRepository) -> SCIMResponse {
        do { return try route(request, repo) } catch let e as SCIMError {
            return .error(e)
        } catch {
            return .error(SCIMError(status: 503, detail: "the bridge cannot reach its state now; nothing was changed: \(error)"))
        }
    }

    func route(_ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let first = parts.first else { throw SCIMError(status: 404, detail: "no such endpoint") }
        let kind: SCIMStored.Kind
        switch first.lowercased() {
        case "users": kind = .user
        case "groups": kind = .group
        case "serviceproviderconfig":
            try only("GET", r, parts.count == 1)
            return SCIMResponse(status: 200, body: SCIMDiscovery.serviceProviderConfig(base: base, maxResults: maxResults,
                                                                                      maxPayload: maxPayload))
        case "resourcetypes":
            try only("GET", r, parts.count <= 2)
            return try discovery(SCIMDiscovery.resourceTypes(base: base), id: parts.dropFirst().first)
        case "schemas":
            try only("GET", r, parts.count <= 2)
            return try discovery(SCIMDiscovery.schemas(base: base), id: parts.dropFirst().first)
        case "bulk": throw SCIMError(status: 501, detail: "bulk operations are not supported")
        case ".search":
            // A search from the root covers every resource type (RFC 7644 §3.4.3).
            try only("POST", r, parts.count == 1)
            return try searchAll(r, repo)
        default: throw SCIMError(status: 404, detail: "no such endpoint: /\(first)")
        }
        switch (r.method, parts.count) {
        case ("GET", 1): return try list(kind, r.query, repo)
        case ("POST", 1): return try create(kind, r, repo)
        case ("POST", 2) where parts[1] == ".search": return try search(kind, r, repo)
        case ("GET", 2): return try single(try live(parts[1], kind, repo), r.query, repo)
        case ("PUT", 2): return try replace(try live(parts[1], kind, repo), r, repo)
        case ("PATCH", 2): return try patch(try live(parts[1], kind, repo), r, repo)
        case ("DELETE", 2): return try delete(try live(parts[1], kind, repo), r, repo)
        case (_, 1), (_, 2): throw SCIMError(status: 405, detail: "\(r.method) is not allowed here")
        default: throw SCIMError(status: 404, detail: "no such endpoint")
        }
    }

    func only(_ method: String, _ r: SCIMRequest, _ shapeOK: Bool) throws {
        guard shapeOK else { throw SCIMError(status: 404, detail: "no such endpoint") }
        guard r.method == method else { throw SCIMError(status: 405, detail: "\(r.method) is not allowed here") }
    }

    func discovery(_ items: [JSON], id: String?) throws -> SCIMResponse {
        if let id {
            guard let item = items.first(where: { $0["id"]?.string == id }) else {
                throw SCIMError(status: 404, detail: "no such resource: \(id)")
            }
            return SCIMResponse(status: 200, body: item)
        }
        return SCIMResponse(status: 200, body: listResponse(items, total: items.count, start: 1))
    }

    func listResponse(_ items: [JSON], total: Int, start: Int) -> JSON {
        ["schemas": [.string(SCIMSchema.listResponse)], "totalResults": .number(Double(total)),
         "startIndex": .number(Double(start)), "itemsPerPage": .number(Double(items.count)), "Resources": .array(items)]
    }

    // MARK: - Reading

    func live(_ id: String, _ kind: SCIMStored.Kind, _ repo: any SCIMRepository) throws -> SCIMStored {
        guard let r = try repo.resource(id: id), r.kind == kind, !r.deleted else {
            throw SCIMError(status: 404, detail: "\(kind.rawValue) \(id) not found")
        }
        return r
    }

    /// The resource as a client sees it: what was stored, with `id`, `meta`, and `members` or `groups`.
    func rendered(_ r: SCIMStored, _ repo: any SCIMRepository) throws -> JSON {
        var o = r.attributes
        o["id"] = .string(r.id)
        if let e = r.externalId { o["externalId"] = .string(e) }
        let location = base + (r.kind == .user ? "/Users/" : "/Groups/") + r.id
        o["meta"] = ["resourceType": .string(r.kind.rawValue), "created": .string(SCIMDate.string(r.created)),
                     "lastModified": .string(SCIMDate.string(r.modified)), "location": .string(location),
                     "version": .string(etag(r))]
        switch r.kind {
        case .group:
            let members = try repo.members(group: r.id)
            if !members.isEmpty {
                o["members"] = .array(members.map { ["value": .string($0), "$ref": .string(base + "/Users/" + $0), "type": "User"] })
            }
        case .user:
            let groups = try repo.groups(user: r.id)
            if !groups.isEmpty {
                o["groups"] = .array(groups.map {
                    ["value": .string($0.id), "$ref": .string(base + "/Groups/" + $0.id), "display": .string($0.displayName),
                     "type": "direct"]
                })
            }
        }
        return .object(o)
    }

    func etag(_ r: SCIMStored) -> String { "W/\"\(r.version)\"" }

    func single(_ r: SCIMStored, _ query: [String: String], _ repo: any SCIMRepository) throws -> SCIMResponse {
        let projection = try Projection(query)
        return SCIMResponse(status: 200, body: projection.apply(try rendered(r, repo)), etag: etag(r))
    }

    func list(_ kind: SCIMStored.Kind, _ query: [String: String], _ repo: any SCIMRepository) throws -> SCIMResponse {
        let filter = try query.first { $0.key.caseInsensitiveCompare("filter") == .orderedSame }.map { try FilterParser.parse($0.value) }
        let start = max(1, Int(value("startIndex", query) ?? "1") ?? 1)
        guard let count = Int(value("count", query) ?? String(maxResults)) else {
            throw SCIMError.badRequest(.invalidValue, "count is a number")
        }
        let projection = try Projection(query)
        let candidates = try lookup(kind, filter, repo)
        var matched: [JSON] = []
        for r in candidates {
            let json = try rendered(r, repo)
            if try filter.map({ try FilterEvaluator.matches($0, json) }) ?? true { matched.append(json) }
        }
        let page = matched.dropFirst(start - 1).prefix(max(0, min(count, maxResults)))
        return SCIMResponse(status: 200, body: listResponse(page.map(projection.apply), total: matched.count, start: start))
    }

    func search(_ kind: SCIMStored.Kind, _ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        let body = try JSON.parse(r.body)
        var query: [String: String] = [:]
        for key in ["filter", "startIndex", "count"] { if let v = body[key] { query[key] = v.string ?? v.number.map { String(Int($0)) } } }
        for key in ["attributes", "excludedAttributes"] {
            if let v = body[key]?.array { query[key] = v.compactMap(\.string).joined(separator: ",") }
        }
        return try list(kind, query, repo)
    }

    func searchAll(_ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        var request = r
        request.body = try JSON.object((JSON.parse(r.body).object ?? [:]).merging(["startIndex": 1, "count": .number(Double(maxResults))]) { _, b in b }).encoded()
        let body = try JSON.parse(r.body)
        let start = max(1, Int(body["startIndex"]?.number ?? 1))
        let count = Int(body["count"]?.number ?? Double(maxResults))
        var all: [JSON] = []
        for kind in [SCIMStored.Kind.user, .group] {
            all += try search(kind, request, repo).body?["Resources"]?.array ?? []
        }
        let page = all.dropFirst(start - 1).prefix(max(0, min(count, maxResults)))
        return SCIMResponse(status: 200, body: listResponse(Array(page), total: all.count, start: start))
    }

    /// Candidates for a filter: an equality on the unique name, externalId or id is an indexed lookup (Okta and
    /// Entra ask `userName eq "…"` before every create); anything else reads every live resource.
    func lookup(_ kind: SCIMStored.Kind, _ filter: Filter?, _ repo: any SCIMRepository) throws -> [SCIMStored] {
        if case .compare(let path, .eq, .string(let v))? = filter, path.sub == nil,
           path.schema == nil || path.schema == (kind == .user ? SCIMSchema.user : SCIMSchema.group) {
            switch path.name.lowercased() {
            case "username" where kind == .user, "displayname" where kind == .group:
                return try repo.resources(kind: kind, name: v.lowercased(), externalId: nil)
            case "externalid": return try repo.resources(kind: kind, name: nil, externalId: v)
            case "id": return try repo.resource(id: v).map { $0.kind == kind && !$0.deleted ? [$0] : [] } ?? []
            default: break
            }
        }
        return try repo.resources(kind: kind, name: nil, externalId: nil)
    }

    func value(_ name: String, _ query: [String: String]) -> String? {
        query.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    // MARK: - Writing

    func create(_ kind: SCIMStored.Kind, _ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        let body = try JSON.parse(r.body)
        let (attributes, externalId, name, members) = try validated(body, kind: kind, creating: true)
        try unique(kind, name, except: nil, repo)
        let now = clock()
        let stored = SCIMStored(id: newId(), kind: kind, externalId: externalId, name: name, attributes: attributes,
                                version: 1, created: now, modified: now)
        try repo.put(stored, members: members.map { [.replace($0)] } ?? [], method: "POST",
                     summary: "created \(kind.rawValue.lowercased()) \(name)\(Self.activeNote(attributes))")
        let out = try rendered(stored, repo)
        let events: [SCIMEvent] = kind == .user && Self.isActive(attributes) == false ? [.leaver(id: stored.id), .changed] : [.changed]
        return SCIMResponse(status: 201, body: try Projection(r.query).apply(out), location: out["meta"]?["location"]?.string,
                            etag: etag(stored), events: events)
    }

    func replace(_ old: SCIMStored, _ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        try precondition(r.ifMatch, old)
        let body = try JSON.parse(r.body)
        let (attributes, externalId, name, members) = try validated(body, kind: old.kind, creating: false)
        return try write(old, attributes: attributes, externalId: externalId, name: name,
                         members: members.map { [.replace($0)] } ?? [.replace([])], method: "PUT", query: r.query, repo)
    }

    func patch(_ old: SCIMStored, _ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        try precondition(r.ifMatch, old)
        let operations = try PatchOperation.list(from: try JSON.parse(r.body))
        if old.kind == .group, let changes = try memberOnly(operations) {
            // Members only (the IdPs' everyday PATCH): rows added or removed, the group's other attributes untouched.
            return try write(old, attributes: old.attributes, externalId: old.externalId, name: old.name, members: changes,
                             method: "PATCH", query: r.query, repo)
        }
        let current = try rendered(old, repo)
        let patched = try PatchEngine.apply(operations, to: current)
        let (attributes, externalId, name, members) = try validated(patched, kind: old.kind, creating: false)
        return try write(old, attributes: attributes, externalId: externalId, name: name,
                         members: old.kind == .group ? [.replace(members ?? [])] : [], method: "PATCH", query: r.query, repo)
    }

    func delete(_ old: SCIMStored, _ r: SCIMRequest, _ repo: any SCIMRepository) throws -> SCIMResponse {
        try precondition(r.ifMatch, old)
        var gone = old
        gone.deleted = true
        gone.version += 1
        gone.modified = clock()
        try repo.put(gone, members: [], method: "DELETE", summary: "deleted \(old.kind.rawValue.lowercased()) \(old.name)")
        return SCIMResponse(status: 204, events: old.kind == .user ? [.leaver(id: old.id)] : [.changed])
    }

    func write(_ old: SCIMStored, attributes: [String: JSON], externalId: String?, name: String, members: [MemberChange],
               method: String, query: [String: String], _ repo: any SCIMRepository) throws -> SCIMResponse {
        try unique(old.kind, name, except: old.id, repo)
        var new = old
        new.attributes = attributes
        new.externalId = externalId
        new.name = name
        new.version += 1
        new.modified = clock()
        let wasActive = Self.isActive(old.attributes) != false
        let nowActive = Self.isActive(attributes) != false
        var summary = "\(method == "PUT" ? "replaced" : "patched") \(old.kind.rawValue.lowercased()) \(name)"
        if old.kind == .user && wasActive != nowActive { summary += nowActive ? " (active: true)" : " (active: false)" }
        if old.kind == .group { summary += Self.memberNote(members) }
        try repo.put(new, members: members, method: method, summary: summary)
        var events: [SCIMEvent] = [.changed]
        if old.kind == .user && wasActive && !nowActive {
            // A deactivation and nothing else is the fast path's alone; a full plan is asked for only when more changed.
            var before = old.attributes, after = attributes
            before["active"] = nil
            after["active"] = nil
            events = before == after && old.externalId == externalId ? [.leaver(id: old.id)] : [.leaver(id: old.id), .changed]
        }
        return SCIMResponse(status: 200, body: try Projection(query).apply(try rendered(new, repo)), etag: etag(new), events: events)
    }

    func precondition(_ ifMatch: String?, _ r: SCIMStored) throws {
        guard let ifMatch, ifMatch != "*" else { return }
        let tags = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let mine = etag(r)
        guard tags.contains(where: { $0 == mine || "W/" + $0 == mine }) else {
            throw SCIMError(status: 412, detail: "the resource changed: its version is \(mine)")
        }
    }

    func unique(_ kind: SCIMStored.Kind, _ name: String, except id: String?, _ repo: any SCIMRepository) throws {
        if try repo.resources(kind: kind, name: name, externalId: nil).contains(where: { $0.id != id }) {
            throw SCIMError(status: 409, scimType: .uniqueness,
                            detail: "\(kind == .user ? "userName" : "displayName") \"\(name)\" is taken")
        }
    }

    /// A resource body checked and reduced to what is stored: the schemas known, the unique name present, the
    /// server's attributes (`id`, `meta`, `groups`) dropped, `password` never kept, booleans sent as "True"/"False"
    /// made booleans. For a group, its members' ids (nil when the body has no `members`).
    func validated(_ body: JSON, kind: SCIMStored.Kind, creating: Bool) throws
        -> (attributes: [String: JSON], externalId: String?, name: String, members: [String]?) {
        guard case .object(let input) = body else { throw SCIMError.badRequest(.invalidSyntax, "the body is not a JSON object") }
        let core = kind == .user ? SCIMSchema.user : SCIMSchema.group
        guard let schemas = input.first(where: { $0.key.lowercased() == "schemas" })?.value.array?.compactMap(\.string),
              schemas.contains(where: { $0.caseInsensitiveCompare(core) == .orderedSame }) else {
            throw SCIMError.badRequest(.invalidValue, "schemas must name \(core)")
        }
        let allowed = kind == .user ? [core] + SCIMSchema.extensions : [core]
        for s in schemas where !allowed.contains(where: { $0.caseInsensitiveCompare(s) == .orderedSame }) {
            throw SCIMError.badRequest(.invalidValue, "unknown schema \(s)")
        }
        var attributes: [String: JSON] = [:]
        var externalId: String?
        var members: [String]?
        for (key, value) in input {
            switch key.lowercased() {
            case "id", "meta", "groups", "password": continue
            case "externalid":
                guard value == .null || value.string != nil else { throw SCIMError.badRequest(.invalidValue, "externalId is a string") }
                externalId = value.string
            case "members" where kind == .group:
                guard let list = value.array ?? (value == .null ? [] : nil) else {
                    throw SCIMError.badRequest(.invalidValue, "members is a list")
                }
                members = try list.map { m in
                    guard let v = m["value"]?.string, !v.isEmpty else { throw SCIMError.badRequest(.invalidValue, "a member needs a value") }
                    return v
                }
            case "active":
                guard let b = Self.boolean(value) else { throw SCIMError.badRequest(.invalidValue, "active is a boolean") }
                attributes["active"] = .bool(b)
            case "schemas": attributes["schemas"] = .array(schemas.map(JSON.string))
            default:
                if value != .null { attributes[key] = value }
            }
        }
        let nameKey = kind == .user ? "userName" : "displayName"
        guard let name = attributes.first(where: { $0.key.caseInsensitiveCompare(nameKey) == .orderedSame })?.value.string,
              !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SCIMError.badRequest(.invalidValue, "\(nameKey) is required")
        }
        return (attributes, externalId, name.lowercased(), members)
    }

    /// A PATCH that only adds or removes group members: the member changes, or nil for any other PATCH.
    func memberOnly(_ operations: [PatchOperation]) throws -> [MemberChange]? {
        var out: [MemberChange] = []
        for o in operations {
            guard let path = o.path else { return nil }
            if path.caseInsensitiveCompare("members") == .orderedSame {
                let ids = try (o.value?.array ?? []).map { m -> String in
                    guard let v = m["value"]?.string else { throw SCIMError.badRequest(.invalidValue, "a member needs a value") }
                    return v
                }
                switch o.op {
                case .add: out.append(.add(ids))
                case .replace: out.append(.replace(ids))
                case .remove: out.append(o.value == nil ? .replace([]) : .remove(ids))
                }
                continue
            }
            guard o.op == .remove, let p = try? FilterParser.parsePath(path), p.attribute.name.lowercased() == "members",
                  p.subAfterFilter == nil, case .compare(let attr, .eq, .string(let v))? = p.filter,
                  attr.name.lowercased() == "value" else { return nil }
            out.append(.remove([v]))
        }
        return out
    }

    static func boolean(_ v: JSON) -> Bool? {
        switch v {
        case .bool(let b): b
        case .string(let s) where s.lowercased() == "true": true
        case .string(let s) where s.lowercased() == "false": false
        default: nil
        }
    }

    /// `active` as stored: nil when the IdP never said.
    static func isActive(_ attributes: [String: JSON]) -> Bool? { attributes["active"].flatMap(boolean) }

    static func activeNote(_ attributes: [String: JSON]) -> String {
        isActive(attributes) == false ? " (active: false)" : ""
    }

    static func memberNote(_ changes: [MemberChange]) -> String {
        changes.map { c -> String in
            switch c {
            case .add(let ids): " (+\(ids.count) member\(ids.count == 1 ? "" : "s"))"
            case .remove(let ids): " (-\(ids.count) member\(ids.count == 1 ? "" : "s"))"
            case .replace(let ids): " (\(ids.count) member\(ids.count == 1 ? "" : "s"))"
            }
        }.joined()
    }
}
