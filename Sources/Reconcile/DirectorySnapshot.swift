/// One search that was run to completion, and how to run it by hand.
public struct SearchRecord: Sendable, Equatable, Codable {
    public var name: String
    public var base: String
    public var scope: String
    public var filter: String
    public var entries: Int
    public var pages: Int
    /// The equivalent `ldapsearch` command line (password as `-y FILE`, never inline).
    public var ldapsearch: String

    public init(name: String, base: String, scope: String, filter: String, entries: Int, pages: Int, ldapsearch: String) {
        self.name = name
        self.base = base
        self.scope = scope
        self.filter = filter
        self.entries = entries
        self.pages = pages
        self.ldapsearch = ldapsearch
    }
}

/// The proof that a snapshot is complete: every search ended in `success` with an empty cookie.
public struct CompletenessProof: Sendable, Equatable, Codable {
    public var server: String
    public var searches: [SearchRecord]
    /// Person entries read (leavers base included; groups and evidence searches not).
    public var entries: Int
    /// Pages of every search.
    public var pages: Int
    public var durationMilliseconds: Int

    public init(server: String, searches: [SearchRecord], entries: Int, pages: Int, durationMilliseconds: Int) {
        self.server = server
        self.searches = searches
        self.entries = entries
        self.pages = pages
        self.durationMilliseconds = durationMilliseconds
    }
}

/// Something about the directory data a human should know; never guessed around.
public enum SnapshotProblem: Sendable, Equatable, Codable {
    /// Two or more people share one normalised email: none of them is matched by email.
    case duplicateEmail(email: String, dns: [String])
    /// The entry has no email: it cannot be invited or matched by email.
    case missingEmail(dn: String)
    /// A mapped attribute held bytes that are not valid UTF-8; the value was ignored.
    case invalidText(dn: String, attribute: String)
    /// A configured role group was not found under the groups base.
    case missingRoleGroup(dn: String)

    public var kind: String {
        switch self {
        case .duplicateEmail: return "duplicate_email"
        case .missingEmail: return "missing_email"
        case .invalidText: return "invalid_text"
        case .missingRoleGroup: return "missing_role_group"
        }
    }
}

/// A group read from the directory, with its direct members' count (for reports).
public struct DirectoryGroup: Sendable, Equatable, Codable {
    public var dn: String
    public var directMembers: Int
    public init(dn: String, directMembers: Int) {
        self.dn = dn
        self.directMembers = directMembers
    }
}

/// A complete read of the directory. It only exists when the read was complete: a failed or partial read
/// is a `SnapshotFailure`, so no code path can mistake "fewer entries" for "people left".
public struct DirectorySnapshot: Sendable, Equatable {
    public var people: [Person]
    public var groups: [DirectoryGroup]
    public var problems: [SnapshotProblem]
    public var proof: CompletenessProof

    public init(people: [Person], groups: [DirectoryGroup], problems: [SnapshotProblem], proof: CompletenessProof) {
        self.people = people
        self.groups = groups
        self.problems = problems
        self.proof = proof
    }
}

/// Why a read produced no usable snapshot.
public struct SnapshotFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Stage: String, Sendable, Codable {
        /// Nothing usable could be read (server down, TLS or bind refused, base missing): outcome `error`.
        case failed
        /// Something was read but not all of it (limit, referral, dropped mid-read, timeout): the
        /// completeness gate holds.
        case incomplete
    }

    public var stage: Stage
    public var message: String
    /// The searches that did complete before the failure.
    public var searches: [SearchRecord]
    public var entriesRead: Int
    public var pagesRead: Int

    public init(stage: Stage, message: String, searches: [SearchRecord] = [], entriesRead: Int = 0, pagesRead: Int = 0) {
        self.stage = stage
        self.message = message
        self.searches = searches
        self.entriesRead = entriesRead
        self.pagesRead = pagesRead
    }

    public var description: String { message }
}
