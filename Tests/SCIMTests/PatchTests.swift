import Foundation
import SCIM
import Testing

/// RFC 7644 §3.5.2's PATCH examples, and the IdPs' habits (Entra ID's capitalised ops and string booleans).
@Suite struct PatchTests {
    static let group: JSON = [
        "schemas": [.string(SCIMSchema.group)], "id": "acbf3ae7-8463-4692-b4fd-9b4da3f908ce",
        "displayName": "Tour Guides",
        "members": [["value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"],
                    ["value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"]],
    ]
    static let user: JSON = [
        "schemas": [.string(SCIMSchema.user)], "id": "2819c223", "userName": "bjensen", "active": true,
        "name": ["givenName": "Barbara", "familyName": "Jensen"],
        "emails": [["value": "bjensen@example.com", "type": "work", "primary": true],
                   ["value": "babs@jensen.org", "type": "home"]],
        "addresses": [["type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"],
                      ["type": "home", "streetAddress": "456 Hollywood Blvd"]],
    ]

    func patch(_ target: JSON, _ ops: PatchOperation...) throws -> JSON { try PatchEngine.apply(ops, to: target) }
    func members(_ g: JSON) -> [String] { (g["members"]?.array ?? []).compactMap { $0["value"]?.string } }

    @Test func addMembers() throws {  // §3.5.2.1, first example
        let g = try patch(Self.group, .init(op: .add, path: "members", value: [["display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"],
                                                                              ["display": "James", "value": "08e1d05d"]]))
        #expect(members(g) == ["2819c223-7f76-453a-919d-413861904646", "902c246b-6245-4190-8e05-00816be7344a", "08e1d05d"],
                "a value already there is not added twice")
    }

    @Test func addWithoutAPathMerges() throws {  // §3.5.2.1, second example
        let u = try patch(Self.user, .init(op: .add, value: ["emails": [["value": "babs@jensen.org", "type": "home"], ["value": "b@x.org", "type": "other"]],
                                                            "nickname": "Babs"]))
        #expect(u["nickname"] == "Babs")
        #expect(u["emails"]?.array?.count == 3)
    }

    @Test func removeOneMemberAllMembersAndFilteredValues() throws {  // §3.5.2.2
        let one = try patch(Self.group, .init(op: .remove, path: #"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#))
        #expect(members(one) == ["902c246b-6245-4190-8e05-00816be7344a"])
        let all = try patch(Self.group, .init(op: .remove, path: "members"))
        #expect(all["members"] == nil)
        let work = try patch(Self.user, .init(op: .remove, path: #"emails[type eq "work" and value ew "example.com"]"#))
        #expect(work["emails"]?.array?.map { $0["type"] } == ["home"])
        let sub = try patch(Self.user, .init(op: .remove, path: #"addresses[type eq "work"].locality"#))
        #expect(sub["addresses"]?.array?.first?["locality"] == nil && sub["addresses"]?.array?.first?["streetAddress"] != nil)
    }

    @Test func removeWithoutAPathIsNoTarget() {
        #expect(throws: SCIMError.badRequest(.noTarget, "remove needs a path")) { try patch(Self.user, .init(op: .remove)) }
    }

    @Test func replaceAllMembersThenOne() throws {  // §3.5.2.3, first and second examples
        let removedThenAdded = try patch(Self.group, .init(op: .remove, path: "members"),
                                         .init(op: .add, path: "members", value: [["value": "2819c223", "display": "Babs"]]))
        #expect(members(removedThenAdded) == ["2819c223"])
        let replaced = try patch(Self.group, .init(op: .replace, path: "members", value: [["value": "9", "display": "N"]]))
        #expect(members(replaced) == ["9"])
    }

    @Test func replaceAFilteredValueAndItsSubAttribute() throws {  // §3.5.2.3, third and fourth examples
        let u = try patch(Self.user, .init(op: .replace, path: #"addresses[type eq "work"]"#,
                                           value: ["type": "work", "streetAddress": "911 Universal City Plaza", "primary": true]))
        let work = u["addresses"]?.array?.first { $0["type"] == "work" }
        #expect(work?["streetAddress"] == "911 Universal City Plaza" && work?["locality"] == nil, "the value is replaced whole")
        let v = try patch(Self.user, .init(op: .replace, path: #"addresses[type eq "work"].streetAddress"#, value: "1010 Broadway Ave"))
        #expect(v["addresses"]?.array?.first?["streetAddress"] == "1010 Broadway Ave")
        #expect(v["addresses"]?.array?.first?["locality"] == "Hollywood")
    }

    @Test func replaceWithoutAPath() throws {  // §3.5.2.3, fifth example
        let u = try patch(Self.user, .init(op: .replace, value: ["emails": [["value": "bjensen@example.com", "type": "work", "primary": true]],
                                                                "nickname": "Babs", "name": ["givenName": "Babs"]]))
        #expect(u["emails"]?.array?.count == 1 && u["nickname"] == "Babs")
        #expect(u["name"]?["givenName"] == "Babs" && u["name"]?["familyName"] == "Jensen", "a complex attribute keeps what is not given")
    }

    @Test func entraDeactivatesWithACapitalisedOpAndAStringBoolean() throws {
        let body: JSON = ["schemas": [.string(SCIMSchema.patchOp)],
                          "Operations": [["op": "Replace", "path": "active", "value": "False"]]]
        let u = try PatchEngine.apply(try PatchOperation.list(from: body), to: Self.user)
        #expect(u["active"] == false)
        let okta: JSON = ["schemas": [.string(SCIMSchema.patchOp)], "Operations": [["op": "replace", "value": ["active": false]]]]
        #expect(try PatchEngine.apply(try PatchOperation.list(from: okta), to: Self.user)["active"] == false)
    }

    @Test func entraCreatesATypedValueThroughAFilteredPath() throws {
        let u = try patch(["schemas": [.string(SCIMSchema.user)], "userName": "x"],
                          .init(op: .add, path: #"emails[type eq "work"].value"#, value: "x@example.com"),
                          .init(op: .replace, path: #"emails[type eq "work"].primary"#, value: "True"))
        #expect(u["emails"] == [["type": "work", "value": "x@example.com", "primary": true]])
    }

    @Test func entraRemovesMembersByListingThem() throws {
        let g = try patch(Self.group, .init(op: .remove, path: "members", value: [["value": "902c246b-6245-4190-8e05-00816be7344a"]]))
        #expect(members(g) == ["2819c223-7f76-453a-919d-413861904646"])
    }

    @Test func extensionAttributesByPathAndByObject() throws {
        let ext = SCIMSchema.enterpriseUser
        let u = try patch(Self.user, .init(op: .add, path: "\(ext):department", value: "Tours"),
                          .init(op: .replace, value: [.init(stringLiteral: ext): ["organization": "Universal", "manager": ["value": "26118915"]]]))
        #expect(u[ext]?["department"] == "Tours" && u[ext]?["organization"] == "Universal")
        #expect(u[ext]?["manager"]?["value"] == "26118915")
        #expect(u["schemas"]?.array?.contains(.string(ext)) == true)
        let v = try patch(u, .init(op: .remove, path: "\(ext):manager"))
        #expect(v[ext]?["manager"] == nil && v[ext]?["department"] == "Tours")
    }

    @Test func readOnlyAttributesAndBadPathsAreRefusedAndNothingChanges() throws {
        #expect(throws: SCIMError.badRequest(.mutability, "id is read-only")) {
            try patch(Self.user, .init(op: .replace, path: "nickname", value: "B"), .init(op: .replace, path: "id", value: "x"))
        }
        #expect(throws: SCIMError.self) { try patch(Self.user, .init(op: .replace, path: "emails[type eq", value: "x")) }
        #expect(throws: SCIMError.self) { try patch(Self.user, .init(op: .replace, path: #"emails[type eq "fax"].value"#, value: "x"), .init(op: .replace, path: #"emails[value sw "q"]"#, value: ["value": "x"])) }
        #expect(throws: SCIMError.self) { try PatchOperation.list(from: ["schemas": [.string(SCIMSchema.patchOp)], "Operations": [["op": "move"]]]) }
        #expect(throws: SCIMError.self) { try PatchOperation.list(from: ["Operations": [["op": "add"]]]) }
    }
}
