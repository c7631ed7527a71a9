import Foundation

/// A user as `GET /api/users` lists them. Tolerant: unknown keys are ignored, missing ones are nil (H8).
public struct MixerUser: Decodable, Sendable, Equatable {
    public struct BrandPermission: Decodable, Sendable, Equatable {
        public var brandId: String
        public var role: String
        public var brandName: String?

        enum CodingKeys: String, CodingKey { case brand_id, role, brand }
        struct Brand: Decodable { var name: String? }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            brandId = try c.decode(String.self, forKey: .brand_id)
            role = ((try? c.decodeIfPresent(String.self, forKey: .role)) ?? nil) ?? "viewer"
            brandName = ((try? c.decodeIfPresent(Brand.self, forKey: .brand)) ?? nil)?.name
        }

        public init(brandId: String, role: String, brandName: String? = nil) {
            self.brandId = brandId
            self.role = role
            self.brandName = brandName
        }
    }

    public var id: String
    public var email: String?
    public var fullName: String?
    public var jobTitle: String?
    public var company: String?
    /// Title-cased `user_metadata.role` ("Viewer" when unknown): use `globalRole`.
    public var role: String?
    /// From app_metadata; nil when the user has none.
    public var globalRole: String?
    public var createdAt: String?
    public var lastSignInAt: String?
    public var userStatus: String?
    public var brandPermissions: [BrandPermission]

    enum CodingKeys: String, CodingKey {
        case id, email, full_name, job_title, company, role, global_role, created_at, last_sign_in_at, user_status,
             brand_permissions
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        // Null and missing are the common case: decodeIfPresent says so without throwing (a thrown DecodingError
        // per null field made a 100,000-user list several times slower); a wrong type is still tolerated as nil.
        func text(_ key: CodingKeys) -> String? { (try? c.decodeIfPresent(String.self, forKey: key)) ?? nil }
        email = text(.email)
        fullName = text(.full_name)
        jobTitle = text(.job_title)
        company = text(.company)
        role = text(.role)
        globalRole = text(.global_role)
        createdAt = text(.created_at)
        lastSignInAt = text(.last_sign_in_at)
        userStatus = text(.user_status)
        brandPermissions = ((try? c.decodeIfPresent([BrandPermission].self, forKey: .brand_permissions)) ?? nil) ?? []
    }

    public init(id: String, email: String?, fullName: String? = nil, jobTitle: String? = nil, company: String? = nil,
                role: String? = nil, globalRole: String? = nil, createdAt: String? = nil, lastSignInAt: String? = nil,
                userStatus: String? = nil, brandPermissions: [BrandPermission] = []) {
        self.id = id
        self.email = email
        self.fullName = fullName
        self.jobTitle = jobTitle
        self.company = company
        self.role = role
        self.globalRole = globalRole
        self.createdAt = createdAt
        self.lastSignInAt = lastSignInAt
        self.userStatus = userStatus
        self.brandPermissions = brandPermissions
    }

    /// Deactivated in MixerAI's sense (only a flag: H1).
    public var isInactive: Bool { userStatus == "inactive" }
    /// Invited and never signed in (H6).
    public var isPending: Bool { lastSignInAt == nil }
}

public struct MixerBrand: Decodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public init(id: String, name: String) { self.id = id; self.name = name }
}

/// The full desired state of one user for `PUT /api/users/{id}`: every text field and every brand, always,
/// because MixerAI blanks omitted fields and replaces the brand list (H3).
public struct UserUpdate: Encodable, Sendable, Equatable {
    public struct Brand: Encodable, Sendable, Equatable {
        public var brand_id: String
        public var role: String
        public init(brandId: String, role: String) { brand_id = brandId; self.role = role }
    }

    public var full_name: String
    public var job_title: String
    public var company: String
    public var role: String
    public var brand_permissions: [Brand]

    public init(fullName: String, jobTitle: String, company: String, role: String, brands: [Brand]) {
        full_name = fullName
        job_title = jobTitle
        self.company = company
        self.role = role
        brand_permissions = brands
    }
}

/// `POST /api/users/invite`.
public struct InviteRequest: Encodable, Sendable, Equatable {
    public var email: String
    public var role: String
    public var full_name: String?
    public var job_title: String?
    public var company: String?
    public var brand_id: String?

    public init(email: String, role: String, fullName: String? = nil, jobTitle: String? = nil, company: String? = nil,
                brandId: String? = nil) {
        self.email = email
        self.role = role
        full_name = fullName
        job_title = jobTitle
        self.company = company
        brand_id = brandId
    }
}

/// What an invite achieved.
public enum InviteOutcome: Sendable, Equatable {
    /// A new user, invited now.
    case invited(userId: String)
    /// The email already had an account: adopt it (409, or 200 `user_exists` with a brand granted).
    case adopted(userId: String)
}
