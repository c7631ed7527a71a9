/// What the bridge says about itself (RFC 7644 §4, RFC 7643 §5–§7): `/ServiceProviderConfig`, `/ResourceTypes`
/// and `/Schemas`. The schemas list the attributes a person is built from and those the bridge keeps as sent.
public enum SCIMDiscovery {
    public static func serviceProviderConfig(base: String, maxResults: Int, maxPayload: Int) -> JSON {
        [
            "schemas": [.string(SCIMSchema.serviceProviderConfig)],
            "patch": ["supported": true],
            "bulk": ["supported": false, "maxOperations": 0, "maxPayloadSize": .number(Double(maxPayload))],
            "filter": ["supported": true, "maxResults": .number(Double(maxResults))],
            "changePassword": ["supported": false],
            "sort": ["supported": false],
            "etag": ["supported": true],
            "authenticationSchemes": [[
                "type": "oauthbearertoken", "name": "Bearer token",
                "description": "A token from [scim] token_file, sent as Authorization: Bearer", "primary": true,
            ]],
            "meta": ["resourceType": "ServiceProviderConfig", "location": .string(base + "/ServiceProviderConfig")],
        ]
    }

    public static func resourceTypes(base: String) -> [JSON] {
        [
            [
                "schemas": [.string(SCIMSchema.resourceType)], "id": "User", "name": "User", "endpoint": "/Users",
                "description": "A person", "schema": .string(SCIMSchema.user),
                "schemaExtensions": [["schema": .string(SCIMSchema.enterpriseUser), "required": false]],
                "meta": ["resourceType": "ResourceType", "location": .string(base + "/ResourceTypes/User")],
            ],
            [
                "schemas": [.string(SCIMSchema.resourceType)], "id": "Group", "name": "Group", "endpoint": "/Groups",
                "description": "A group; [[roles]] name groups by displayName", "schema": .string(SCIMSchema.group),
                "meta": ["resourceType": "ResourceType", "location": .string(base + "/ResourceTypes/Group")],
            ],
        ]
    }

    public static func schemas(base: String) -> [JSON] {
        [
            schema(SCIMSchema.user, "User", "User Account", userAttributes, base: base),
            schema(SCIMSchema.group, "Group", "Group", groupAttributes, base: base),
            schema(SCIMSchema.enterpriseUser, "EnterpriseUser", "Enterprise User", enterpriseAttributes, base: base),
        ]
    }

    static func schema(_ id: String, _ name: String, _ description: String, _ attributes: [JSON], base: String) -> JSON {
        ["schemas": [.string(SCIMSchema.schema)], "id": .string(id), "name": .string(name), "description": .string(description),
         "attributes": .array(attributes),
         "meta": ["resourceType": "Schema", "location": .string(base + "/Schemas/" + id)]]
    }

    /// One attribute definition (RFC 7643 §7).
    static func a(_ name: String, _ type: String = "string", multi: Bool = false, required: Bool = false,
                  caseExact: Bool = false, mutability: String = "readWrite", returned: String = "default",
                  uniqueness: String = "none", sub: [JSON] = [], canonical: [String] = [], refs: [String] = []) -> JSON {
        var o: [String: JSON] = [
            "name": .string(name), "type": .string(type), "multiValued": .bool(multi), "description": .string(name),
            "required": .bool(required), "mutability": .string(mutability), "returned": .string(returned),
        ]
        if type == "string" || type == "reference" {
            o["caseExact"] = .bool(caseExact)
            o["uniqueness"] = .string(uniqueness)
        }
        if !sub.isEmpty { o["subAttributes"] = .array(sub) }
        if !canonical.isEmpty { o["canonicalValues"] = .array(canonical.map(JSON.string)) }
        if !refs.isEmpty { o["referenceTypes"] = .array(refs.map(JSON.string)) }
        return .object(o)
    }

    static func multi(_ name: String, types: [String], valueType: String = "string", extra: [JSON] = []) -> JSON {
        a(name, "complex", multi: true, sub: [a("value", valueType), a("display"), a("type", canonical: types),
                                              a("primary", "boolean")] + extra)
    }

    static let userAttributes: [JSON] = [
        a("userName", required: true, uniqueness: "server"),
        a("name", "complex", sub: ["formatted", "familyName", "givenName", "middleName", "honorificPrefix",
                                   "honorificSuffix"].map { a($0) }),
        a("displayName"), a("nickName"), a("profileUrl", "reference", refs: ["external"]), a("title"), a("userType"),
        a("preferredLanguage"), a("locale"), a("timezone"), a("active", "boolean"),
        multi("emails", types: ["work", "home", "other"]),
        multi("phoneNumbers", types: ["work", "home", "mobile", "fax", "pager", "other"]),
        multi("ims", types: ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        multi("photos", types: ["photo", "thumbnail"], valueType: "reference"),
        a("addresses", "complex", multi: true, sub: ["formatted", "streetAddress", "locality", "region", "postalCode",
                                                     "country"].map { a($0) }
            + [a("type", canonical: ["work", "home", "other"]), a("primary", "boolean")]),
        a("groups", "complex", multi: true, mutability: "readOnly",
          sub: [a("value", mutability: "readOnly"), a("$ref", "reference", mutability: "readOnly", refs: ["User", "Group"]),
                a("display", mutability: "readOnly"), a("type", mutability: "readOnly", canonical: ["direct", "indirect"])]),
        multi("entitlements", types: []), multi("roles", types: []),
        a("x509Certificates", "complex", multi: true, sub: [a("value", "binary"), a("display"), a("type"), a("primary", "boolean")]),
    ]

    static let groupAttributes: [JSON] = [
        a("displayName", required: true, uniqueness: "server"),
        a("members", "complex", multi: true,
          sub: [a("value", mutability: "immutable"), a("$ref", "reference", mutability: "immutable", refs: ["User", "Group"]),
                a("type", mutability: "immutable", canonical: ["User", "Group"]), a("display", mutability: "readOnly")]),
    ]

    static let enterpriseAttributes: [JSON] = [
        a("employeeNumber"), a("costCenter"), a("organization"), a("division"), a("department"),
        a("manager", "complex", sub: [a("value"), a("$ref", "reference", refs: ["User"]),
                                      a("displayName", mutability: "readOnly")]),
    ]
}
