import Foundation
import Reconcile
import SCIM
import Synchronization
import Testing

/// The bridge's resources over an in-memory repository: what Entra ID and Okta send, and what they must get back.
@Suite struct ServiceTests {
    let repo = InMemorySCIMRepository()
    let service: SCIMService = {
        var s = SCIMService(base: "https://bridge/scim/v2")
        let n = Mutex(0)
        s.newId = { n.withLock { $0 += 1; return "id-\($0)" } }
        s.clock = { Date(timeIntervalSince1970: 1_800_000_000) }
        return s
    }()

    func call(_ method: String, _ path: String, _ body: JSON? = nil, query: [String: String] = [:], ifMatch: String? = nil) -> SCIMResponse {
        service.handle(SCIMRequest(method: method, path: path, query: query, ifMatch: ifMatch, body: body?.encoded() ?? Data()), repo)
    }

    func user(_ name: String, active: JSON = true, externalId: String? = nil) -> JSON {
        var o: [String: JSON] = ["schemas": [.string(SCIMSchema.user)], "userName": .string(name), "active": active,
                                 "name": ["givenName": "Ada", "familyName": "Lovelace"],
                                 "emails": [["value": .string(name), "type": "work", "primary": true]]]
        if let externalId { o["externalId"] = .string(externalId) }
        return .object(o)
    }

    @Test func createReadAndUniqueness() {
        let created = call("POST", "/Users", user("ada@example.com", externalId: "guid-1"))
        #expect(created.status == 201 && created.location == "https://bridge/scim/v2/Users/id-1" && created.etag == "W/\"1\"")
        #expect(created.body?["id"]?.string == "id-1" && created.body?["meta"]?["resourceType"]?.string == "User")
        #expect(created.events == [.changed])
        let again = call("POST", "/Users", user("ADA@example.com"))
        #expect(again.status == 409 && again.body?["scimType"]?.string == "uniqueness" && again.body?["status"]?.string == "409")
        #expect(call("GET", "/Users/id-1").body?["externalId"]?.string == "guid-1")
        #expect(call("GET", "/Users/nope").status == 404)
    }

    /// Okta's connection test and pre-create search: `userName eq "…"` with `count=2`.
    @Test func oktaSearchesByUserName() {
        _ = call("POST", "/Users", user("ada@example.com"))
        _ = call("POST", "/Users", user("bob@example.com"))
        let found = call("GET", "/Users", query: ["filter": "userName eq \"Ada@Example.com\"", "startIndex": "1", "count": "2"])
        #expect(found.status == 200 && found.body?["totalResults"]?.number == 1)
        #expect(found.body?["Resources"]?.array?.first?["userName"]?.string == "ada@example.com")
        let none = call("GET", "/Users", query: ["filter": "userName eq \"zed@example.com\""])
        #expect(none.body?["totalResults"]?.number == 0 && none.body?["Resources"]?.array == [])
        let page = call("GET", "/Users", query: ["startIndex": "2", "count": "1"])
        #expect(page.body?["totalResults"]?.number == 2 && page.body?["itemsPerPage"]?.number == 1)
        #expect(page.body?["Resources"]?.array?.first?["userName"]?.string == "bob@example.com")
        let bad = call("GET", "/Users", query: ["filter": "userName eq"])
        #expect(bad.status == 400 && bad.body?["scimType"]?.string == "invalidFilter")
    }

    /// Entra ID's legacy deactivation: a capitalised `Replace` of `active` with the string "False".
    @Test func entraDeactivatesWithAStringBoolean() {
        _ = call("POST", "/Users", user("ada@example.com"))
        let body: JSON = ["schemas": [.string(SCIMSchema.patchOp)], "Operations": [["op": "Replace", "path": "active", "value": "False"]]]
        let r = call("PATCH", "/Users/id-1", body)
        #expect(r.status == 200 && r.body?["active"]?.bool == false && r.etag == "W/\"2\"")
        #expect(r.events == [.leaver(id: "id-1")], "a deactivation alone is the fast path's; no full plan")
        #expect(repo.requests.last?.summary == "patched user ada@example.com (active: false)")
    }

    /// Okta's AIW apps deactivate with a PUT of the whole user, `active: false`.
    @Test func oktaDeactivatesWithAPut() {
        _ = call("POST", "/Users", user("ada@example.com"))
        let r = call("PUT", "/Users/id-1", user("ada@example.com", active: false))
        #expect(r.status == 200 && r.events.first == .leaver(id: "id-1"))
        let again = call("PUT", "/Users/id-1", user("ada@example.com", active: false))
        #expect(again.events == [.changed], "already inactive: no second leaver event")
    }

    @Test func deleteLeavesATombstoneThatIsALeaver() throws {
        _ = call("POST", "/Users", user("ada@example.com"))
        let r = call("DELETE", "/Users/id-1")
        #expect(r.status == 204 && r.events.first == .leaver(id: "id-1"))
        #expect(call("GET", "/Users/id-1").status == 404)
        #expect(call("GET", "/Users").body?["totalResults"]?.number == 0)
        let stored = try #require(repo.stored["id-1"])
        let person = PersonBuilder.person(stored, groups: [])
        #expect(person.leaverEvidence == [.scimDeleted])
        #expect(call("POST", "/Users", user("ada@example.com")).status == 201, "the name is free again")
    }

    @Test func ifMatchGuardsWrites() {
        _ = call("POST", "/Users", user("ada@example.com"))
        let stale = call("PUT", "/Users/id-1", user("ada@example.com"), ifMatch: "W/\"7\"")
        #expect(stale.status == 412 && stale.body?["status"]?.string == "412")
        #expect(call("PUT", "/Users/id-1", user("ada@example.com"), ifMatch: "W/\"1\"").status == 200)
        #expect(call("DELETE", "/Users/id-1", ifMatch: "*").status == 204)
    }

    @Test func groupsAndTheirMembers() {
        _ = call("POST", "/Users", user("ada@example.com"))
        _ = call("POST", "/Users", user("bob@example.com"))
        let g = call("POST", "/Groups", ["schemas": [.string(SCIMSchema.group)], "displayName": "Editors",
                                         "members": [["value": "id-1"]]])
        #expect(g.status == 201 && g.body?["members"]?.array?.count == 1)
        let add: JSON = ["schemas": [.string(SCIMSchema.patchOp)],
                         "Operations": [["op": "Add", "path": "members", "value": [["value": "id-2"]]]]]
        #expect(call("PATCH", "/Groups/id-3", add).body?["members"]?.array?.count == 2)
        #expect(call("GET", "/Users/id-2").body?["groups"]?.array?.first?["display"]?.string == "Editors")
        let remove: JSON = ["schemas": [.string(SCIMSchema.patchOp)],
                            "Operations": [["op": "remove", "path": "members[value eq \"id-1\"]"]]]
        #expect(call("PATCH", "/Groups/id-3", remove).body?["members"]?.array?.map { $0["value"]?.string } == ["id-2"])
        let rename: JSON = ["schemas": [.string(SCIMSchema.patchOp)],
                            "Operations": [["op": "replace", "path": "displayName", "value": "Writers"]]]
        let renamed = call("PATCH", "/Groups/id-3", rename)
        #expect(renamed.body?["displayName"]?.string == "Writers" && renamed.body?["members"]?.array?.count == 1)
        let slim = call("GET", "/Groups", query: ["filter": "displayName eq \"writers\"", "excludedAttributes": "members"])
        #expect(slim.body?["Resources"]?.array?.first?["members"] == nil)
        #expect(slim.body?["Resources"]?.array?.first?["displayName"]?.string == "Writers")
    }

    @Test func projectionAndComplexFilters() {
        _ = call("POST", "/Users", user("ada@example.com"))
        _ = call("POST", "/Users", user("bob@other.org", active: false))
        let r = call("GET", "/Users", query: ["filter": "emails[type eq \"work\" and value ew \"example.com\"] and not (active eq false)",
                                              "attributes": "userName,name.givenName"])
        let only = r.body?["Resources"]?.array ?? []
        #expect(only.count == 1 && only[0]["userName"]?.string == "ada@example.com")
        #expect(only[0]["name"]?["givenName"]?.string == "Ada" && only[0]["name"]?["familyName"] == nil)
        #expect(only[0]["emails"] == nil && only[0]["id"] != nil)
    }

    @Test func badInputChangesNothing() {
        let raw = service.handle(SCIMRequest(method: "POST", path: "/Users", body: Data("{not json".utf8)), repo)
        #expect(raw.status == 400 && raw.body?["scimType"]?.string == "invalidSyntax")
        let unknown = call("POST", "/Users", ["schemas": [.string(SCIMSchema.user), "urn:example:unknown"], "userName": "x@y.z"])
        #expect(unknown.status == 400 && unknown.body?["scimType"]?.string == "invalidValue")
        #expect(call("POST", "/Users", ["schemas": [.string(SCIMSchema.user)]]).status == 400, "no userName")
        let deep = String(repeating: "(", count: 40) + "userName eq \"a\"" + String(repeating: ")", count: 40)
        #expect(call("GET", "/Users", query: ["filter": deep]).body?["scimType"]?.string == "invalidFilter")
        #expect(repo.stored.isEmpty && repo.requests.isEmpty)
        #expect(call("DELETE", "/Users").status == 405 && call("GET", "/Bulk").status == 501)
    }

    @Test func discovery() {
        let spc = call("GET", "/ServiceProviderConfig").body
        #expect(spc?["patch"]?["supported"]?.bool == true && spc?["etag"]?["supported"]?.bool == true)
        #expect(spc?["bulk"]?["supported"]?.bool == false)
        #expect(call("GET", "/ResourceTypes").body?["totalResults"]?.number == 2)
        #expect(call("GET", "/ResourceTypes/User").body?["endpoint"]?.string == "/Users")
        #expect(call("GET", "/Schemas").body?["totalResults"]?.number == 3)
        #expect(call("GET", "/Schemas/\(SCIMSchema.enterpriseUser)").body?["name"]?.string == "EnterpriseUser")
    }

    @Test func aPersonIsBuiltLikeADirectoryEntry() {
        var u = user("Ada@Example.com", externalId: "guid-1").object!
        u["title"] = "Engineer"
        u[SCIMSchema.enterpriseUser] = ["department": "R&D", "organization": "Example Ltd"]
        let stored = SCIMStored(id: "id-1", kind: .user, externalId: "guid-1", name: "ada@example.com", attributes: u,
                                version: 1, created: Date(), modified: Date())
        let group = SCIMStored(id: "g-1", kind: .group, externalId: nil, name: "editors", attributes: ["displayName": "Editors"],
                               version: 1, created: Date(), modified: Date())
        let built = PersonBuilder.build(users: [stored], groups: [group], members: [("g-1", "id-1")])
        let p = built.people[0]
        #expect(p.anchor == "guid-1" && p.email == "ada@example.com" && p.fullName == "Ada Lovelace")
        #expect(p.jobTitle == "Engineer" && p.company == "Example Ltd" && p.department == "R&D")
        #expect(p.groups.map(\.dn) == ["Editors"] && p.leaverEvidence.isEmpty)
        #expect(built.groups == [DirectoryGroup(dn: "Editors", directMembers: 1)])
        u["active"] = false
        #expect(PersonBuilder.person(SCIMStored(id: "id-1", kind: .user, externalId: nil, name: "x", attributes: u, version: 2,
                                                created: Date(), modified: Date()), groups: []).leaverEvidence == [.scimInactive])
    }
}
