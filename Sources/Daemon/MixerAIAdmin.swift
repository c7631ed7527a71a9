import MixerAI
import Reconcile

/// The MixerAI a run talks to, in the core's terms (docs/layout.md, "Seams"): the reads a run plans from and the
/// write calls an offboarding, an invite or a role change is made of. `MixerAIClient` (libcurl, the real web API) is
/// the one the product uses; the daemon's unit tests drive the pipeline with an in-memory one.
public protocol MixerAIAdmin: Sendable {
    /// The write budget as MixerAI's last answer showed it.
    var budget: WriteBudget { get async }
    /// The service account, with proof of both admin notions (throws `.permission` naming what is missing).
    func me() async throws -> MixerAIClient.Me
    /// Every account, page by page; `progress` hears (pages, users) so far.
    func accounts(progress: (@Sendable (_ page: Int, _ users: Int) -> Void)?) async throws -> [Account]
    func listBrands() async throws -> [MixerBrand]
    func invite(_ request: InviteRequest) async throws -> InviteOutcome
    func update(userId: String, to state: UserUpdate) async throws
    func deactivate(userId: String) async throws
    func reactivate(userId: String) async throws
    func delete(userId: String) async throws
}

extension MixerAIClient: MixerAIAdmin {
    public func accounts(progress: (@Sendable (_ page: Int, _ users: Int) -> Void)?) async throws -> [Account] {
        try await listUsers(map: AccountMapping.account, progress: progress)
    }
}
