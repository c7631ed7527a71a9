/// MixerAI's three roles, ordered by privilege (viewer < editor < admin).
public enum Role: String, Sendable, Codable, Comparable, CaseIterable {
    case viewer, editor, admin

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .editor: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Accepts MixerAI's own names and the five seed names of its admin guide, case-insensitively:
    /// Administrator → admin; Editor, Manager, Creator, Contributor, Reviewer → editor; View Only → viewer.
    public init?(configName: String) {
        switch configName.lowercased() {
        case "admin", "administrator": self = .admin
        case "editor", "manager", "creator", "contributor", "reviewer": self = .editor
        case "viewer", "view only": self = .viewer
        default: return nil
        }
    }

    /// The names `init(configName:)` accepts, for error messages.
    public static let acceptedNames = ["Administrator", "Editor", "Manager", "Creator", "Contributor", "Reviewer",
                                       "View Only", "admin", "editor", "viewer"]
}

/// One `[[roles]]` entry: members of `group` (a DN) get `role`, globally or for one brand (by name).
public struct RoleMapping: Sendable, Equatable, Codable {
    public var group: String
    public var role: Role
    public var brand: String?

    public init(group: String, role: Role, brand: String? = nil) {
        self.group = group
        self.role = role
        self.brand = brand
    }
}
