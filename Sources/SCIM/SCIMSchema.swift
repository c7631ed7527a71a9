/// The schema URNs of RFC 7643 and RFC 7644, and what the filter and PATCH engines need to know of the attributes:
/// which are multi-valued, which compare case-exactly, which are booleans, which a client may not write.
public enum SCIMSchema {
    public static let user = "urn:ietf:params:scim:schemas:core:2.0:User"
    public static let group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    public static let enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    public static let listResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    public static let patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    public static let error = "urn:ietf:params:scim:api:messages:2.0:Error"
    public static let serviceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    public static let resourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    public static let schema = "urn:ietf:params:scim:schemas:core:2.0:Schema"

    /// Multi-valued attributes of the User and Group schemas (RFC 7643 §4).
    static let multiValued: Set<String> = ["emails", "phonenumbers", "ims", "photos", "addresses", "groups",
                                           "entitlements", "roles", "x509certificates", "members", "schemas"]
    /// Attributes compared case-exactly (RFC 7643 §4: `caseExact: true`); every other string ignores case.
    static let caseExact: Set<String> = ["id", "externalid", "members.value", "groups.value", "meta.version",
                                         "meta.location", "photos.value", "x509certificates.value"]
    /// Boolean attributes: IdPs send "True" / "False" strings for them (Entra ID), accepted as booleans.
    static let booleans: Set<String> = ["active", "emails.primary", "phonenumbers.primary", "ims.primary",
                                        "photos.primary", "addresses.primary", "roles.primary", "entitlements.primary",
                                        "x509certificates.primary"]
    /// Attributes a client never writes (RFC 7643 §3.1, §4.1: `mutability: readOnly`).
    static let readOnly: Set<String> = ["id", "meta", "groups"]

    /// The schema URNs a resource may carry attributes under, as extension objects.
    static let extensions: [String] = [enterpriseUser]
}
