import Foundation
import Reconcile

/// The per-person truth about sign-in (docs/revocation.md): every offboarding in a report says whether the person
/// can still sign in, from the bans the state confirmed — never more than was done.
extension RunReport {
    public enum Revocation: Sendable {
        /// No `[supabase]` section (or `on_offboard = "none"`): MixerAI's deactivation is only a flag.
        case off(String)
        /// Bans are on: `bannedUntil` gives the ban the state confirmed for an account, if any.
        case on(bannedUntil: @Sendable (String) -> Date?)
    }

    /// Fills `sign_in` on every offboarding (changes and pending_offboard) that does not say it yet, and sets
    /// `audit.deactivation_does_not_revoke`: false only when bans are on and every offboarding's ban is confirmed.
    public mutating func tellSignIn(_ revocation: Revocation) {
        var allBanned = true
        let mode = self.mode
        func fill(_ item: inout Item) {
            guard item.kind == Change.Kind.deactivate.rawValue else { return }
            switch revocation {
            case .off(let why):
                allBanned = false
                if item.signIn == nil { item.signIn = "still possible (\(why))" }
            case .on(let bannedUntil):
                if let id = item.mixerUserId, let until = bannedUntil(id) {
                    item.signIn = "banned until \(Self.iso(until))"
                } else {
                    allBanned = false
                    if item.signIn == nil {
                        item.signIn = item.status == .skipped ? "still possible: not applied, nothing banned"
                            : mode == .dryRun ? "still possible: a ban goes first when this is applied"
                            : "still possible: the ban is pending"
                    }
                }
            }
        }
        for i in changes.indices { fill(&changes[i]) }
        for i in pendingOffboard.indices { fill(&pendingOffboard[i]) }
        guard audit != nil else { return }
        switch revocation {
        case .off:
            audit!.deactivationDoesNotRevoke = true
            audit!.notRevoked = Audit.notRevokedWithoutBan
        case .on:
            audit!.deactivationDoesNotRevoke = !allBanned
            audit!.notRevoked = Audit.notRevokedWithBan
        }
    }
}
