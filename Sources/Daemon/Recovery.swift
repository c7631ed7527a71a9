import Foundation
import MixerAI
import Reconcile
import State

/// Settles intents an earlier run left planned, sent or ambiguous (a crash, a kill -9, a dropped connection), from
/// a fresh read of MixerAI, before anything new is planned. An invite that landed is linked (so it is never sent
/// twice); anything else is confirmed when MixerAI shows its effect, and otherwise marked failed — the new plan,
/// made from the same fresh read, does whatever is still needed.
enum Recovery {
    static func resolve(_ intents: [Intent], accounts: [Account], store: StateStore, now: Date) throws -> [String] {
        let byEmail = Dictionary(accounts.compactMap { a in a.email.map { ($0, a) } }, uniquingKeysWith: { a, _ in a })
        let byId = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var notes: [String] = []
        for intent in intents {
            let c = intent.change
            let who = c.email ?? c.mixerUserId ?? "?"
            switch c.kind {
            case .invite:
                if let email = c.email.flatMap(EmailAddress.normalize), let user = byEmail[email] {
                    if let anchor = c.anchor { try store.link(anchor: anchor, userId: user.id, email: email, at: now) }
                    // The PUT after the invite may not have gone: record only what the invite alone grants, so the
                    // next plan sees any difference and sends it.
                    if intent.step == "invite" || intent.status != .confirmed {
                        try store.setPendingGrant(userId: user.id, state: c.inviteGrant)
                    }
                    try store.journalMark(intent.id, status: .confirmed, userId: user.id,
                                          error: "recovered: the invite is in MixerAI (read back)", at: now)
                    notes.append("recovered: invite of \(who) from run \(intent.runId) had landed; linked, not resent")
                } else {
                    try store.journalMark(intent.id, status: .failed, error: "recovered: not in MixerAI (read back)", at: now)
                    notes.append("recovered: invite of \(who) from run \(intent.runId) had not landed; planned again")
                }
            default:
                let id = intent.userId ?? c.mixerUserId
                let user = id.flatMap { byId[$0] }
                let landed = user.map { shows($0, c) } ?? (c.kind == .delete)
                if landed {
                    try store.journalMark(intent.id, status: .confirmed, error: "recovered: MixerAI shows it (read back)", at: now)
                    if c.kind == .deactivate, let id { try store.recordDeactivation(userId: id, approved: false, at: now) }
                    notes.append("recovered: \(c.kind.rawValue) of \(who) from run \(intent.runId) had landed")
                } else {
                    try store.journalMark(intent.id, status: .failed, error: "recovered: not (fully) in MixerAI (read back)", at: now)
                    notes.append("recovered: \(c.kind.rawValue) of \(who) from run \(intent.runId) had not fully landed; planned again")
                }
            }
        }
        return notes
    }

    /// Whether the account shows the change's effect (roles and brands by id are compared by count and role,
    /// since the read gives ids and the change names).
    static func shows(_ a: Account, _ c: Change) -> Bool {
        switch c.kind {
        case .deactivate:
            return !a.active && (a.globalRole ?? .viewer) == .viewer && a.brands.isEmpty
        case .reactivate, .update, .setRole, .setBrands:
            let wantBrands = (c.to.brands ?? [:]).values.sorted()
            return (c.to.active ?? true) == a.active && a.globalRole == c.to.role && a.brands.values.sorted() == wantBrands
                && (a.fullName ?? "") == (c.to.fullName ?? "") && (a.jobTitle ?? "") == (c.to.jobTitle ?? "")
                && (a.company ?? "") == (c.to.company ?? "")
        case .delete: return false
        case .invite: return true
        }
    }
}
