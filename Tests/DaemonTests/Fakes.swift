import Daemon
import Foundation
import MixerAI
import Reconcile
import Synchronization

/// A directory in memory: the people a test sets, read as one complete snapshot (or a failure it sets).
final class FakeDirectory: DirectorySource {
    private let state = Mutex<(people: [Person], failure: SnapshotFailure?, reads: Int)>(([], nil, 0))

    var people: [Person] {
        get { state.withLock { $0.people } }
        set { state.withLock { $0.people = newValue } }
    }
    var failure: SnapshotFailure? {
        get { state.withLock { $0.failure } }
        set { state.withLock { $0.failure = newValue } }
    }
    var reads: Int { state.withLock { $0.reads } }

    func read(roleGroups: [String], now: Date) async throws -> DirectorySnapshot {
        let (people, failure) = state.withLock { s in
            s.reads += 1
            return (s.people, s.failure)
        }
        if let failure { throw failure }
        let groups = roleGroups.map { dn in
            DirectoryGroup(dn: dn, directMembers: people.filter { $0.groups.contains { $0.dn == dn } }.count)
        }
        return DirectorySnapshot(people: people, groups: groups, problems: [],
                                 proof: CompletenessProof(server: "fake://directory", searches: [], entries: people.count,
                                                          pages: 1, durationMilliseconds: 0))
    }

    /// A person of the sample directory: `uid` is the anchor and the mailbox; `groups` are role group DNs.
    static func person(_ uid: String, groups: [String], leaver: Bool = false) -> Person {
        Person(anchor: uid, dn: "uid=\(uid),ou=people,dc=example,dc=com", email: "\(uid)@example.com",
               givenName: uid.capitalized, surname: "Test", fullName: "\(uid.capitalized) Test", uid: uid,
               groups: groups.map { GroupMembership(dn: $0) }, leaverEvidence: leaver ? [.accountLock] : [])
    }
}

/// MixerAI in memory, with the service account, a write log and a write budget; each call does what the real
/// route does to the user (docs/mixerai-fidelity.md), nothing more.
actor FakeMixerAI: MixerAIAdmin {
    static let service = "svc-0"
    private(set) var users: [String: Account]
    private(set) var writes: [String] = []
    let brands: [MixerBrand]
    var budget = WriteBudget()
    private var next = 1

    init(brands: [MixerBrand], accounts: [Account]) {
        self.brands = brands
        var users = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        users[Self.service] = Account(id: Self.service, email: "mixer-sync@example.com", globalRole: .admin, appAdmin: true)
        self.users = users
    }

    func me() async throws -> MixerAIClient.Me {
        MixerAIClient.Me(id: Self.service, email: "mixer-sync@example.com", appAdmin: true, routeAdmin: true)
    }

    func accounts(progress: (@Sendable (Int, Int) -> Void)?) async throws -> [Account] {
        users.values.sorted { $0.id < $1.id }
    }

    func listBrands() async throws -> [MixerBrand] { brands }

    func invite(_ request: InviteRequest) async throws -> InviteOutcome {
        writes.append("invite \(request.email)")
        let id = "u-new-\(next)"
        next += 1
        users[id] = Account(id: id, email: request.email, fullName: request.full_name, jobTitle: request.job_title,
                            globalRole: Role(rawValue: request.role),
                            brands: request.brand_id.map { [$0: Role(rawValue: request.role) ?? .viewer] } ?? [:],
                            active: true, pending: true)
        return .invited(userId: id)
    }

    func update(userId: String, to state: UserUpdate) async throws {
        writes.append("put \(userId) \(state.role)")
        users[userId]?.globalRole = Role(rawValue: state.role)
        users[userId]?.brands = Dictionary(state.brand_permissions.map { ($0.brand_id, Role(rawValue: $0.role) ?? .viewer) },
                                           uniquingKeysWith: { a, _ in a })
        users[userId]?.fullName = state.full_name
        users[userId]?.jobTitle = state.job_title
        users[userId]?.company = state.company
    }

    /// A deactivation that waits this long first (as the client waits out a 429's Retry-After inside its call).
    var deactivationStall: Duration = .zero
    func stallDeactivations(_ d: Duration) { deactivationStall = d }

    func deactivate(userId: String) async throws {
        if deactivationStall > .zero { try? await Task.sleep(for: deactivationStall) }
        writes.append("deactivate \(userId)")
        users[userId]?.active = false
    }

    func reactivate(userId: String) async throws {
        writes.append("reactivate \(userId)")
        users[userId]?.active = true
    }

    func delete(userId: String) async throws {
        writes.append("delete \(userId)")
        users[userId] = nil
    }

    /// What a write that landed but whose answer was lost leaves behind (a crash between the call and the journal).
    func land(_ account: Account) { users[account.id] = account }

    func writes(matching prefix: String) -> [String] { writes.filter { $0.hasPrefix(prefix) } }
    func resetBudget() { budget = WriteBudget() }
    func exhaustBudget(resetIn seconds: TimeInterval) {
        budget.limit = 50
        budget.remaining = 0
        budget.resetAt = Date().addingTimeInterval(seconds)
    }
}

/// GoTrue's admin API in memory: who is banned until when, and every call made.
actor FakeRevoker: SignInRevoker {
    private(set) var bannedUntil: [String: Date] = [:]
    private(set) var calls: [String] = []
    /// The next ban applies but its answer is lost (a dropped connection).
    var loseNextAnswer = false
    var refuseAll = false

    func ban(userId: String) async throws -> Date {
        calls.append("ban \(userId)")
        if refuseAll { throw RunError("401 bad_jwt") }
        let until = Date().addingTimeInterval(876_000 * 3600)
        bannedUntil[userId] = until
        if loseNextAnswer {
            loseNextAnswer = false
            throw RunError("connection dropped")
        }
        return until
    }

    func lift(userId: String) async throws {
        calls.append("lift \(userId)")
        bannedUntil[userId] = nil
    }

    func bannedUntil(userId: String) async throws -> Date? { bannedUntil[userId] }
    func probe() async throws -> Int? {
        if refuseAll { throw RunError("403 not_admin: User not allowed") }
        return 1
    }
    private(set) var globalRoles: [String: String] = [:]
    func globalRole(userId: String) async throws -> String? { globalRoles[userId] }
    func setGlobalRole(userId: String, role: String) async throws {
        calls.append("app_metadata \(userId) \(role)")
        globalRoles[userId] = role
    }
    func setLoseNextAnswer() { loseNextAnswer = true }
    func setRefuseAll() { refuseAll = true }
}
