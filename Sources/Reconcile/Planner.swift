import Foundation

/// Everything the diff engine decides from. No I/O, no clock: the caller gathers it.
public struct PlanInput: Sendable {
    public var people: [Person]
    public var accounts: [Account]
    /// Stored links: directory anchor → MixerAI account id.
    public var links: [String: String]
    /// MixerAI's brands: id → name.
    public var brandNamesById: [String: String]
    public var mappings: [RoleMapping]
    public var policy: Policy
    /// The daemon's own MixerAI identity: never touched.
    public var serviceAccountEmail: String?
    /// What a pending invite will grant once accepted (kept in the state; decision 5): account id → state.
    public var pendingGrants: [String: AccountState]
    /// The roles kept when a person was offboarded (reactivation = restore): account id → state.
    public var ledger: [String: AccountState]
    /// When mixer-sync offboarded an account (kept with the ledger): account id → time. With `delete_after_days`
    /// and `now`, an account offboarded long enough ago is deleted.
    public var offboardedAt: [String: Date]
    /// The time of the run (the caller's clock; the core reads none). Only deletion needs it.
    public var now: Date?

    public init(people: [Person], accounts: [Account], links: [String: String] = [:], brandNamesById: [String: String] = [:],
                mappings: [RoleMapping], policy: Policy = Policy(), serviceAccountEmail: String? = nil,
                pendingGrants: [String: AccountState] = [:], ledger: [String: AccountState] = [:],
                offboardedAt: [String: Date] = [:], now: Date? = nil) {
        self.offboardedAt = offboardedAt
        self.now = now
        self.people = people
        self.accounts = accounts
        self.links = links
        self.brandNamesById = brandNamesById
        self.mappings = mappings
        self.policy = policy
        self.serviceAccountEmail = serviceAccountEmail
        self.pendingGrants = pendingGrants
        self.ledger = ledger
    }
}

/// The diff engine's answer: changes with reasons, conflicts, manual actions, and unlinked accounts.
public struct Plan: Sendable, Equatable {
    public var changes: [Change]
    public var conflicts: [Matching.Conflict]
    public var manualActions: [ManualAction]
    /// Accounts no directory person accounts for (reported; deactivated only with `unlinked = "deactivate"`).
    public var unlinked: [String]
    /// First adoptions (invariant 6): in-scope people matched to an account by email, to be linked (anchor →
    /// account id) when the plan is applied, so that later absence from the directory counts as evidence.
    public var adoptions: [String: String] = [:]
    /// Managed, active MixerAI accounts (linked, or whose email a person of this snapshot holds): the base of the
    /// deactivation percentage (decision 9).
    public var managedActiveAccounts = 0

    public init(changes: [Change], conflicts: [Matching.Conflict], manualActions: [ManualAction], unlinked: [String],
                adoptions: [String: String] = [:], managedActiveAccounts: Int = 0) {
        self.managedActiveAccounts = managedActiveAccounts
        self.changes = changes
        self.conflicts = conflicts
        self.manualActions = manualActions
        self.unlinked = unlinked
        self.adoptions = adoptions
    }

    /// Offboardings of accounts that are active now (stripping an already deactivated account deactivates nobody).
    public var deactivations: Int { changes.filter { $0.kind == .deactivate && $0.from.active != false }.count }
    /// Deletions (after `delete_after_days`): they count against the deactivation gates too.
    public var deletions: Int { changes.filter { $0.kind == .delete }.count }
    /// Changes that lower a global role; offboardings are counted by the deactivation gates instead.
    public var downgrades: Int {
        changes.filter { c in
            guard c.kind != .deactivate && c.kind != .delete else { return false }
            guard let from = c.from.role, let to = c.to.role else { return false }
            return to < from
        }.count
    }
}

/// `plan(...)`: the pure diff engine (docs/reconciling.md).
public enum Planner {
    /// Role maps compared without hashing for the common sizes (none or one brand).
    static func sameRoles(_ x: [String: Role], _ y: [String: Role]) -> Bool {
        guard x.count == y.count else { return false }
        if x.count == 0 { return true }
        if x.count == 1 { let a = x.first!, b = y.first!; return a.key == b.key && a.value == b.value }
        return x == y
    }

    static func sameText(_ x: String?, _ y: String?) -> Bool { (x ?? "") == (y ?? "") }

    /// People in scope (the shrink gate's figure): not leavers, and matched by a role mapping (provisioned, or
    /// held back only because admin grants are off). Memberships are resolved once per shared array.
    public static func inScope(_ input: PlanInput, normalize: (String) -> String = { $0.lowercased() }) -> Int {
        var memo = MembershipMemo<Bool>()
        let roles = RoleMappingIndex(input.mappings, normalize: normalize)
        var count = 0
        for p in input.people where p.leaverEvidence.isEmpty {
            let scoped = memo.value(for: p.groups) {
                let r = RoleResolver.resolve(p, index: roles, allowAdminGrants: input.policy.allowAdminGrants,
                                             normalize: normalize)
                return r.isProvisioned || r.adminWithheld
            }
            if scoped { count += 1 }
        }
        return count
    }

    public static func plan(_ input: PlanInput, normalize: @escaping @Sendable (String) -> String = { $0.lowercased() }) -> Plan {
        var index = MatchIndex(people: input.people, accounts: input.accounts)
        let matching = Matcher.match(people: input.people, accounts: input.accounts, links: input.links, index: &index)
        func person(_ anchor: String) -> Person? { index.person(anchor: anchor, input.people).map { input.people[Int($0)] } }
        let brandIdByName = Dictionary(input.brandNamesById.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let roles = RoleMappingIndex(input.mappings, normalize: normalize)
        // A handful of emails: a linear scan beats hashing every account's email.
        var protected = input.policy.protected.compactMap(EmailAddress.normalize)
        if let service = input.serviceAccountEmail.flatMap(EmailAddress.normalize) { protected.append(service) }
        func isProtected(email: String?) -> Bool { email.map { protected.contains($0) } ?? false }
        func isProtected(_ a: Account) -> Bool { isProtected(email: a.email) }

        var changes: [Change] = []
        var manual: [ManualAction] = []
        var adoptions: [String: String] = [:]

        func current(_ a: Account) -> AccountState {
            AccountState(active: a.active, role: a.globalRole,
                         brands: Dictionary(a.brands.map { (input.brandNamesById[$0.key] ?? $0.key, $0.value) },
                                            uniquingKeysWith: { x, _ in x }),
                         fullName: a.fullName ?? "", jobTitle: a.jobTitle ?? "", company: a.company ?? "")
        }

        func appAdminStays(_ a: Account, _ why: String, grants: Role) {
            guard a.appAdmin else { return }
            manual.append(ManualAction(kind: .appMetadataAdmin, email: a.email,
                                       reason: "\(why), but MixerAI's app_metadata.global_role = admin stays (its API cannot change it): remove it in Supabase",
                                       mixerUserId: a.id, grants: grants))
        }

        func offboard(_ a: Account, person: Person?, anchor: String?, reasons: [String]) {
            guard !isProtected(a) else { return }
            appAdminStays(a, "offboarded", grants: .viewer)
            let now = current(a)
            if now.active == false && (now.role ?? .viewer) == .viewer && (now.brands ?? [:]).isEmpty {
                // Already offboarded: deleted once `delete_after_days` have passed since mixer-sync offboarded it.
                let days = input.policy.deleteAfterDays
                if days > 0, let at = input.offboardedAt[a.id], let clock = input.now,
                   clock.timeIntervalSince(at) >= Double(days) * 86400 {
                    changes.append(Change(kind: .delete, anchor: anchor, email: a.email, dn: person?.dn, mixerUserId: a.id,
                                          from: AccountState(active: false), to: AccountState(),
                                          reasons: reasons + ["offboarded more than \(days) days ago (delete_after_days = \(days))"]))
                }
                return
            }
            changes.append(Change(kind: .deactivate, anchor: anchor, email: a.email, dn: person?.dn, mixerUserId: a.id,
                                  from: AccountState(active: now.active, role: now.role, brands: now.brands),
                                  to: .offboarded, reasons: reasons + AccountState.differences(now, .offboarded)))
        }

        /// A person's resolution depends only on their memberships, with the brands translated to MixerAI ids once.
        var resolutions = MembershipMemo<Resolved>()
        func resolve(_ p: Person) -> Resolved {
            resolutions.value(for: p.groups) {
                Resolved(groups: p.groups, input: input, roles: roles, brandIdByName: brandIdByName, normalize: normalize)
            }
        }

        /// The desired state of a provisioned person, with unknown brands reported.
        func desired(_ p: Person, _ r: Resolved) -> AccountState {
            for name in r.unknownBrands {
                manual.append(ManualAction(kind: .unknownBrand, email: p.email,
                                           reason: "brand \"\(name)\" of a role mapping does not exist in MixerAI"))
            }
            return AccountState(active: true, role: r.resolution.global, brands: r.brands, fullName: p.fullName ?? "",
                                jobTitle: p.jobTitle ?? "", company: p.company ?? "")
        }

        func leaverReasons(_ p: Person) -> [String] {
            ["\(p.dn) (anchor \(p.anchor))"] + p.leaverEvidence.map { "leaver evidence: \($0.rawValue)" } + p.rules.map { "rule \($0)" }
        }

        // People matched to an account. Most are in sync: that is decided from the fields in place (SyncScan), and
        // only a pair with something to say is copied out and worked through.
        let found = SyncScan.candidates(input: input, pairs: matching.pairs, personEmailHashes: index.personEmailHashes,
                                        accountEmailHashes: index.accountEmailHashes, brandIdByName: brandIdByName,
                                        roles: roles, normalize: normalize)
        for k in found.adoptions where !isProtected(email: input.accounts[matching.pairs[k].accountIndex].email) {
            adoptions[matching.pairs[k].anchor] = matching.pairs[k].accountId
        }
        for k in found.candidates {
            let pair = matching.pairs[k]
            let p = input.people[pair.personIndex]
            let a = input.accounts[pair.accountIndex]
            if p.isLeaver {
                offboard(a, person: p, anchor: p.anchor, reasons: leaverReasons(p))
                continue
            }
            let resolved = resolve(p)
            let r = resolved.resolution
            if r.adminWithheld {
                manual.append(ManualAction(kind: .adminGrant, email: p.email,
                                           reason: "member of an admin group; allow_admin_grants = false, a human decides"))
            }
            if pair.how == .link, let new = p.email, let old = a.email, new != old {
                manual.append(ManualAction(kind: .emailChange, email: old, newEmail: new,
                                           reason: "MixerAI cannot change an email; the account is kept (anchor \(p.anchor))"))
            }
            guard r.isProvisioned else {
                if pair.how == .link {
                    offboard(a, person: p, anchor: p.anchor,
                             reasons: ["\(p.dn) (anchor \(p.anchor))", "left every mapped group"])
                }
                continue  // matched by email only and out of scope: left exactly as it is
            }
            guard !isProtected(a) else { continue }
            if pair.how == .email { adoptions[p.anchor] = a.id }
            if r.global != .admin { appAdminStays(a, "the directory grants \(r.global?.rawValue ?? "no role")", grants: r.global ?? .viewer) }
            func reasons() -> [String] {
                ["\(p.dn) (anchor \(p.anchor))", "matched by \(pair.how.rawValue)"] + p.rules.map { "rule \($0)" } + r.reasons
            }
            if !a.active {
                var want = desired(p, resolved)
                if input.policy.reactivation == .restore, let kept = input.ledger[a.id] {
                    want = AccountState(active: true, role: kept.role ?? want.role, brands: kept.brands ?? want.brands,
                                        fullName: want.fullName, jobTitle: want.jobTitle, company: want.company)
                }
                changes.append(Change(kind: .reactivate, anchor: p.anchor, email: a.email, dn: p.dn, mixerUserId: a.id,
                                      from: current(a), to: want,
                                      reasons: reasons() + ["back in the directory: reactivation = \(input.policy.reactivation.rawValue)"]
                                        + AccountState.differences(current(a), want)))
                continue
            }
            // Compare without building anything; a pending invite is compared with what accepting it will grant (decision 5).
            let grant = a.pending ? input.pendingGrants[a.id] : nil
            let haveRole = grant?.role ?? a.globalRole
            let roleDiff = haveRole != r.global
            let brandDiff: Bool
            if let grantBrands = grant?.brands {
                brandDiff = grantBrands != resolved.brands
            } else {
                brandDiff = a.brands != resolved.brandIds
            }
            let profileDiff = (a.fullName ?? "") != (p.fullName ?? "") || (a.jobTitle ?? "") != (p.jobTitle ?? "")
                || (a.company ?? "") != (p.company ?? "")
            guard roleDiff || brandDiff || profileDiff || !resolved.unknownBrands.isEmpty else { continue }
            let want = desired(p, resolved)
            guard roleDiff || brandDiff || profileDiff else { continue }
            var from = current(a)
            if let grant {
                from.role = grant.role ?? from.role
                from.brands = grant.brands ?? from.brands
            }
            let kind: Change.Kind = roleDiff ? .setRole : brandDiff ? .setBrands : .update
            changes.append(Change(kind: kind, anchor: p.anchor, email: a.email, dn: p.dn, mixerUserId: a.id,
                                  from: from, to: want, reasons: reasons() + AccountState.differences(from, want)))
        }

        // People without an account: invite the provisioned ones who have not left.
        for pi in index.unmatchedPeople {
            let p = input.people[pi]
            guard !p.isLeaver, let email = p.email else { continue }
            let resolved = resolve(p)
            let r = resolved.resolution
            if r.adminWithheld {
                manual.append(ManualAction(kind: .adminGrant, email: email,
                                           reason: "member of an admin group; allow_admin_grants = false, a human decides"))
            }
            guard r.isProvisioned, !isProtected(email: email) else { continue }
            let want = desired(p, resolved)
            if want.role != .admin && (want.brands ?? [:]).isEmpty {
                manual.append(ManualAction(kind: .inviteWithoutBrand, email: email,
                                           reason: "invited without a brand: MixerAI's completion step needs one"))
            }
            changes.append(Change(kind: .invite, anchor: p.anchor, email: email, dn: p.dn, mixerUserId: nil,
                                  from: AccountState(), to: want,
                                  reasons: ["\(p.dn) (anchor \(p.anchor))", "no MixerAI account"] + p.rules.map { "rule \($0)" } + r.reasons))
        }

        // Linked people absent from the complete snapshot left (absence is evidence only for linked people,
        // and never from an empty snapshot, which is not a valid directory: the empty_snapshot gate says so too).
        var accountedFor = [Bool](repeating: false, count: input.accounts.count)
        matching.pairs.withUnsafeBufferPointer { pairs in for k in pairs.indices { accountedFor[pairs[k].accountIndex] = true } }
        for (anchor, ai) in index.absentLinks.sorted(by: { $0.0 < $1.0 }) where !input.people.isEmpty {
            let a = input.accounts[ai]
            accountedFor[ai] = true
            offboard(a, person: nil, anchor: anchor, reasons: ["anchor \(anchor) is absent from a complete snapshot"])
        }

        // Accounts nobody accounts for.
        var unlinked: [String] = []
        let blockedEmails = Set(matching.blocked.compactMap { person($0)?.email })
        for ai in input.accounts.indices where !accountedFor[ai] {
            let a = input.accounts[ai]
            if let e = a.email, blockedEmails.contains(e) { continue }  // part of a conflict, never guessed
            if isProtected(a) { continue }
            if let e = a.email, index.hasPerson(email: e, input.people) {
                continue  // a directory person holds this email (e.g. a renamed person linked elsewhere): not unlinked
            }
            unlinked.append(a.id)
            if input.policy.unlinked == .deactivate && a.active && !input.people.isEmpty {
                offboard(a, person: nil, anchor: nil, reasons: ["no directory person (unlinked = deactivate)"])
            }
        }

        // Never deactivate or demote below `min_admins` active admins.
        var admins = input.accounts.withUnsafeBufferPointer { aa in
            aa.indices.reduce(0) { $0 + (aa[$1].active && aa[$1].globalRole == .admin ? 1 : 0) }
        }
        var kept: [Change] = []
        changes.sort { a, b in
            if a.kind != b.kind { return a.kind.rawValue < b.kind.rawValue }
            if a.anchor != b.anchor { return (a.anchor ?? "") < (b.anchor ?? "") }
            return (a.mixerUserId ?? "") < (b.mixerUserId ?? "")
        }
        for change in changes {
            let wasAdmin = change.from.role == .admin && change.from.active != false
            let staysAdmin = change.to.role == .admin && change.to.active != false
            if wasAdmin && !staysAdmin {
                if admins - 1 < input.policy.minAdmins {
                    manual.append(ManualAction(kind: .lastAdmin, email: change.email,
                                               reason: "would leave fewer than \(input.policy.minAdmins) active admin(s): not \(change.kind.rawValue)d"))
                    continue
                }
                admins -= 1
            }
            kept.append(change)
        }
        manual.sort { ($0.kind.rawValue, $0.email ?? "", $0.reason) < ($1.kind.rawValue, $1.email ?? "", $1.reason) }
        let managedActive = input.accounts.withUnsafeBufferPointer { aa in
            aa.indices.reduce(0) { n, i in
                n + (aa[i].active && (index.linkedAccounts[i] || (aa[i].email.map { index.hasPerson(email: $0, input.people) } ?? false)) ? 1 : 0)
            }
        }
        return Plan(changes: kept, conflicts: matching.conflicts, manualActions: manual, unlinked: unlinked.sorted(),
                    adoptions: adoptions, managedActiveAccounts: managedActive)
    }
}
