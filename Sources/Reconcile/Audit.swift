import Foundation

/// The audit MixerAI's admin guide asks for, computed from what was read (no I/O): who holds admin, accounts
/// not in the directory, invites pending too long, users who have not signed in for a long time, role drift.
public struct Audit: Sendable, Equatable, Codable {
    public var admins: [String]
    public var unlinked: [String]
    public var pendingInvitesOverDays: [String]
    public var inactiveOverDays: [String]
    /// Managed accounts whose roles or brands differ from what the directory says (this plan corrects them).
    public var roleDrift: [String]
    /// Whether this run's offboardings leave sign-in possible: true unless bans are on (`[supabase]`) and every
    /// offboarding's ban is confirmed (docs/revocation.md).
    public var deactivationDoesNotRevoke: Bool
    /// What an offboarding leaves in place, said plainly in every report (README: what MixerAI does and does not
    /// revoke): MixerAI's own lines, or the ban's when bans are on.
    public var notRevoked: [String]

    public static let notRevokedWithoutBan = [
        "deactivation only sets a flag: the user can still sign in with their password until it is changed",
        "sessions already open and refresh tokens stay valid",
        "content, workflows and assignments the user owns stay assigned to them",
        "mixer-sync therefore also strips access on offboarding: global role viewer, every brand permission removed",
        "a [supabase] section with the service-role key lets mixer-sync ban sign-in for real (docs/revocation.md)",
    ]

    public static let notRevokedWithBan = [
        "sign-in is banned through Supabase Auth: the password grant and the refresh-token grant are refused",
        "an access token already issued stays valid until it expires (1 hour by default; JWT expiry in Supabase Auth)",
        "content, workflows and assignments the user owns stay assigned to them",
        "mixer-sync also deactivates and strips access in MixerAI: global role viewer, every brand permission removed",
    ]

    enum CodingKeys: String, CodingKey {
        case admins, unlinked, pendingInvitesOverDays = "pending_invites_over_days", inactiveOverDays = "inactive_over_days"
        case roleDrift = "role_drift", deactivationDoesNotRevoke = "deactivation_does_not_revoke", notRevoked = "not_revoked"
    }

    public static func compute(accounts: [Account], plan: Plan, policy: Policy, now: Date) -> Audit {
        func label(_ a: Account) -> String { a.email ?? a.id }
        let unlinkedIds = Set(plan.unlinked)
        let admins = accounts.filter { $0.active && $0.globalRole == .admin }.map(label).sorted()
        let unlinked = accounts.filter { unlinkedIds.contains($0.id) }.map(label).sorted()
        let pendingCut = now.addingTimeInterval(-Double(policy.pendingInviteDays) * 86400)
        let pending = accounts.filter { a in a.active && a.pending && (a.createdAt.map { $0 < pendingCut } ?? false) }
            .map(label).sorted()
        let inactiveCut = now.addingTimeInterval(-Double(policy.inactiveDays) * 86400)
        let idle = accounts.filter { a in a.active && !a.pending && (a.lastSignInAt.map { $0 < inactiveCut } ?? false) }
            .map(label).sorted()
        let drift = plan.changes.filter { $0.kind == .setRole || $0.kind == .setBrands }.compactMap { $0.email ?? $0.mixerUserId }.sorted()
        return Audit(admins: admins, unlinked: unlinked, pendingInvitesOverDays: pending, inactiveOverDays: idle,
                     roleDrift: drift, deactivationDoesNotRevoke: true, notRevoked: notRevokedWithoutBan)
    }
}
