import Foundation
import Logging
import Metrics
import MixerAI
import Reconcile
import Report
import State

/// The daemon's one writer: drains the durable queue (the state database's `queue`) into MixerAI, always taking
/// the most urgent item first, so a leaver the change feed saw goes before a backlog of invites. The last writes
/// of every window are kept for offboarding; an item that fails waits with backoff (escrow) and is tried again.
/// It also keeps MixerAI's accounts as the last full run read them, updated by every confirmed change: the
/// change feed plans against that view instead of spending a list read per event.
public actor QueueDrainer {
    let store: StateStore
    let logger: Logger
    let clock: @Sendable () -> Date
    /// The change feed's burst: while it is open, nothing the feed queued is sent (it is still being judged).
    let burst: FeedBurst

    private var client: (any MixerAIAdmin)?
    /// `[supabase]`: offboardings are banned as soon as they may go, whatever MixerAI's budget (docs/revocation.md).
    private var ban: SignInBan?
    /// Queue keys whose ban is confirmed, and when a failed ban is tried again.
    private var banned: Set<String> = []
    private var banRetryAt: [String: Date] = [:]
    private var brandIdByName: [String: String] = [:]
    private var brandNamesById: [String: String] = [:]
    private var accounts: [Account] = []
    private var indexById: [String: Int] = [:]
    /// Outcomes of the items a full run waits for, by queue key (only those: nothing accumulates).
    private var watched: Set<String> = []
    private var outcomes: [String: Applier.Result] = [:]
    /// When the drainer, idle, next looks at the queue (a backoff, a write window's reset); nil = on a kick.
    private(set) var waitingUntil: Date?
    private var pausedUntil: Date?
    private var pauses = 0
    /// Set while a full run reads and plans: only offboardings go meanwhile.
    private var nonUrgentHeld = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var kicked = false
    /// The ban loop's own wake-up: it never waits behind a MixerAI write (which may sleep for a whole window).
    private var banWaiter: CheckedContinuation<Void, Never>?
    private var banKicked = false
    /// Queue keys whose ban call is in flight (the ban loop and a write never ban the same person twice).
    private var banning: Set<String> = []

    public init(store: StateStore, logger: Logger, burst: FeedBurst = FeedBurst(),
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.burst = burst
        self.logger = logger
        self.clock = clock
    }

    /// A full run hands over its client and what it read; the drainer writes with them from now on.
    func attach(client: any MixerAIAdmin, brands: [MixerBrand], accounts: [Account], ban: SignInBan? = nil) {
        self.client = client
        self.ban = ban
        brandIdByName = Dictionary(brands.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        brandNamesById = Dictionary(brands.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        self.accounts = accounts
        indexById = Dictionary(accounts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        pausedUntil = nil
        nonUrgentHeld = false
        kick()
    }

    func holdNonUrgent(_ held: Bool) {
        nonUrgentHeld = held
        if !held { kick() }
    }

    /// Whether a full run has handed over what it read.
    var hasView: Bool { client != nil }

    /// MixerAI as last read and since changed by mixer-sync; nil before the first full run.
    func view() -> (accounts: [Account], brandNamesById: [String: String], brandIdByName: [String: String])? {
        client == nil ? nil : (accounts, brandNamesById, brandIdByName)
    }

    /// Something was queued (or the daemon is stopping): look at the queue now.
    public func kick() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            kicked = true
        }
        if let banWaiter {
            self.banWaiter = nil
            banWaiter.resume()
        } else {
            banKicked = true
        }
    }

    /// A full run starts waiting for these items (their earlier outcomes are void).
    func watch(_ keys: [String]) {
        for key in keys {
            outcomes[key] = nil
            watched.insert(key)
        }
    }

    /// The full run has its outcomes.
    func unwatch(_ keys: [String]) {
        for key in keys {
            outcomes[key] = nil
            watched.remove(key)
        }
    }

    /// Outcomes recorded so far for these keys, and whether the drainer cannot reach the rest before `deadline`.
    func progress(_ keys: [String], deadline: Date) -> (done: [String: Applier.Result], stalled: Bool) {
        var done: [String: Applier.Result] = [:]
        for key in keys { if let r = outcomes[key] { done[key] = r } }
        let stalled = (waitingUntil.map { $0 > deadline } ?? false) || (pausedUntil.map { $0 > deadline } ?? false)
        return (done, stalled)
    }

    /// The writes of a window kept for offboarding: a tenth of the limit, at least one offboarding's two.
    static func reserve(limit: Int?) -> Int { max(2, (limit ?? 50) / 10) }

    // MARK: - The loop

    /// Runs until `stopping` says so (checked between items: the in-flight change always finishes).
    public func run(stopping: @escaping @Sendable () -> Bool) async {
        // Bans run beside the writes: a write may wait out MixerAI's window inside its call, a ban never does.
        let bans = Task { await self.banLoop(stopping: stopping) }
        defer { bans.cancel() }
        while !stopping() {
            guard let client else { await sleep(until: nil); continue }
            let now = clock()
            if let until = pausedUntil, until > now { await sleep(until: until); continue }
            let next: (item: QueueItem?, nextDue: Date?)
            do {
                let (maxUrgency, except) = (nonUrgentHeld ? Urgency.offboarding : .cleanup, burst.isOpen ? QueueItem.Source.feed : nil)
                next = try await store.perform { try $0.nextQueued(now: now, maxUrgency: maxUrgency, except: except) }
            } catch {
                logger.error("the write queue cannot be read", metadata: ["queue.error": "\(error)"])
                await sleep(until: now.addingTimeInterval(5))
                continue
            }
            guard let item = next.item else {
                waitingUntil = next.nextDue
                await sleep(until: next.nextDue)
                continue
            }
            let budget = await client.budget
            if let hold = Self.hold(item.change, budget: budget, now: now) {
                waitingUntil = hold
                await sleep(until: hold)
                continue
            }
            waitingUntil = nil
            await write(item, client: client)
        }
        waitingUntil = nil
        kick()
        await bans.value
    }

    /// Looks for offboardings to ban whenever something was queued (a kick), and every 30 s for retries.
    private func banLoop(stopping: @escaping @Sendable () -> Bool) async {
        while !stopping() {
            await banPending()
            if banKicked {
                banKicked = false
                continue
            }
            if stopping() { break }
            let timer = Task { [weak self] in
                guard (try? await Task.sleep(for: .seconds(30))) != nil else { return }
                await self?.kick()
            }
            await withCheckedContinuation { banWaiter = $0 }
            timer.cancel()
        }
    }

    /// When a change must wait for MixerAI's window: never for an offboarding beyond the window itself; other
    /// changes also leave the window's last writes to offboardings that may come.
    static func hold(_ change: Change, budget: WriteBudget, now: Date) -> Date? {
        if let until = budget.blockedUntil, until > now { return until }
        guard let left = budget.remaining, let reset = budget.resetAt, reset > now else { return nil }
        // An offboarding starts with one write left (the deactivation; the client waits for the window before the
        // stripping PUT); anything else needs all its writes and the reserve.
        let needed = change.urgency == .offboarding ? 1 : change.writes + reserve(limit: budget.limit)
        return left < needed ? reset : nil
    }

    /// Bans every queued offboarding that may go (not one of a burst still being judged) and is not banned yet:
    /// the ban does not wait for MixerAI's window, the deactivation and the stripping PUT do.
    private func banPending() async {
        guard let ban else { return }
        let now = clock()
        guard let items = try? await store.perform({ try $0.pendingOffboards() }) else { return }
        let live = Set(items.map(\.key))
        banned.formIntersection(live)
        for item in items where item.change.kind == .deactivate && !banned.contains(item.key) {
            if burst.isOpen && item.source == .feed { continue }
            if let retry = banRetryAt[item.key], retry > now { continue }
            await banItem(item, ban)
        }
    }

    /// One queued offboarding's ban, once at a time per person.
    private func banItem(_ item: QueueItem, _ ban: SignInBan) async {
        guard !banned.contains(item.key), !banning.contains(item.key) else { return }
        banning.insert(item.key)
        defer { banning.remove(item.key) }
        switch await ban.ensure(item.change, runId: item.runId, planHash: item.planHash) {
        case .banned(let until):
            banned.insert(item.key)
            banRetryAt[item.key] = nil
            if let seen = item.seenAt {
                let latency = clock().timeIntervalSince(seen)
                Metrics.Timer(label: "mixer_sync_ban_latency_seconds").recordNanoseconds(Int64(latency * 1e9))
                logger.notice("sign-in banned", metadata: ["user.email": "\(item.change.email ?? "")",
                                                           "ban.until": "\(RunReport.iso(until))",
                                                           "ban.latency_ms": "\(Int(latency * 1000))"])
            }
        case .refused:
            banned.insert(item.key)
        case .failed(let why):
            banRetryAt[item.key] = clock().addingTimeInterval(30)
            logger.warning("sign-in ban failed; tried again in 30 s",
                           metadata: ["user.email": "\(item.change.email ?? "")", "ban.error": "\(why)"])
        }
    }

    private func write(_ item: QueueItem, client: any MixerAIAdmin) async {
        var profiles: [String: AccountProfile] = [:]
        if let id = item.change.mixerUserId, let p = item.profile { profiles[id] = p }
        var applier = Applier(client: client, store: store, runId: item.runId, planHash: item.planHash,
                              approved: item.approved, brandIdByName: brandIdByName, profiles: profiles,
                              maxBudgetWait: .infinity, clock: clock)
        applier.log = { [logger] line in logger.debug("\(line)") }
        applier.ban = ban
        if let ban, item.change.kind == .deactivate {
            // The ban loop may be banning this person right now: wait for it rather than ban twice.
            while banning.contains(item.key) { try? await Task.sleep(for: .milliseconds(5)) }
            await banItem(item, ban)
        }
        let started = clock()
        let result: Applier.Result
        switch await settleEarlierAttempt(item, client: client) {
        case .unknown: return  // the state cannot be read: nothing is sent; the item waits where it is
        case .landed: result = Applier.Result(change: item.change, status: .applied, reason: "an earlier attempt had landed (read back)")
        case .alreadyMade:
            result = Applier.Result(change: item.change, status: .applied,
                                    reason: "already made after this plan's MixerAI read (journal); not sent again")
        case .none: result = await applier.attempt(item.change)
        }
        if watched.contains(item.key) { outcomes[item.key] = result }
        let now = clock()
        do {
            if result.status == .applied {
                var linked: String?
                if item.change.kind == .invite, let anchor = item.change.anchor {
                    linked = try? await store.perform { try $0.linkedUser(anchor: anchor) }
                }
                // The view follows first, then the item leaves the queue: a fast path running while the dequeue is
                // committed must see the change either still queued or already made, never neither (it would plan
                // it again).
                confirmed(item.change, linkedId: linked)
                try await store.perform { try $0.dequeue(item.id) }
                pauses = 0
                if item.change.kind == .deactivate, let seen = item.seenAt {
                    let latency = now.timeIntervalSince(seen)
                    Metrics.Timer(label: "mixer_sync_offboarding_latency_seconds").recordNanoseconds(Int64(latency * 1e9))
                    logger.notice("offboarded", metadata: ["user.email": "\(item.change.email ?? "")",
                                                           "offboarding.latency_ms": "\(Int(latency * 1000))",
                                                           "write.ms": "\(Int(now.timeIntervalSince(started) * 1000))"])
                }
            } else {
                let backoff = min(5 * pow(2, Double(item.attempts)), 900)
                let reason = result.reason ?? result.status.rawValue
                try await store.perform {
                    try $0.defer_(item.id, until: now.addingTimeInterval(backoff), error: reason, countAttempt: true)
                }
                logger.warning("write failed, in escrow", metadata: [
                    "change.kind": "\(item.change.kind.rawValue)", "user.email": "\(item.change.email ?? "")",
                    "escrow.retry_in_s": "\(Int(backoff))", "escrow.reason": "\(result.reason ?? "")"])
                if result.stopsTheRest {
                    // The session or the rate limit: nothing else can go now; the whole queue waits.
                    pauses += 1
                    let budget = await client.budget
                    let pause = max(budget.blockedUntil.map { $0.timeIntervalSince(now) } ?? 0,
                                    min(30 * pow(2, Double(pauses - 1)), 900))
                    pausedUntil = now.addingTimeInterval(pause)
                }
            }
        } catch {
            logger.error("the write queue cannot be updated", metadata: ["queue.error": "\(error)"])
        }
        if let depth = try? await store.perform({ try $0.queueDepth() }) {
            Gauge(label: "mixer_sync_queue_depth").record(depth.all)
            Gauge(label: "mixer_sync_pending_offboard").record(depth.offboardings)
        }
        if let left = await client.budget.remaining { Gauge(label: "mixer_sync_write_budget_remaining").record(left) }
    }

    enum EarlierAttempt { case none, landed, alreadyMade, unknown }

    /// An earlier attempt of this item whose outcome was never recorded — the call went out but the state could not
    /// be written after it (PostgreSQL restarting, a disk error), or the process died — is settled by reading MixerAI
    /// back before anything is sent again: an invite that landed is linked, not sent twice (docs/high-availability.md).
    func settleEarlierAttempt(_ item: QueueItem, client: any MixerAIAdmin) async -> EarlierAttempt {
        let open: [Intent]
        let done: [Intent]
        // Since the MixerAI view the item was planned from was read: a full run whose read began before the fast path
        // (or the other host) offboarded someone plans the same offboarding again from what it read.
        let since = item.viewAt ?? item.enqueuedAt
        do {
            (open, done) = try await store.perform { (try $0.unfinishedIntents(), try $0.confirmedIntents(since: since)) }
        } catch {
            logger.error("the journal cannot be read; nothing is sent", metadata: ["state.error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            return .unknown
        }
        let earlier = open.filter {
            $0.change.kind == item.change.kind && QueueItem.key($0.change) == item.key
                && !["ban", "lift-ban", "app-metadata"].contains($0.step)
        }
        // Made and confirmed after the view it was planned from — by this item before its removal was lost, or by
        // another plan for the same account that reached the same state: nothing to send.
        if done.contains(where: {
            QueueItem.key($0.change) == item.key && $0.change.kind == item.change.kind && $0.change.to == item.change.to
                && !["ban", "lift-ban", "app-metadata"].contains($0.step)
        }) {
            logger.notice("already made (journal); not sent again", metadata: ["queue.key": "\(item.key)"])
            return .alreadyMade
        }
        guard !earlier.isEmpty else { return .none }
        do {
            let accounts = try await client.accounts(progress: nil)
            let now = clock()
            let notes = try await store.perform { try Recovery.resolve(earlier, accounts: accounts, store: $0, now: now) }
            for note in notes { logger.notice("\(note)") }
            let c = item.change
            let landed: Bool
            if c.kind == .invite {
                let email = c.email.flatMap(EmailAddress.normalize)
                landed = accounts.contains { $0.email.flatMap(EmailAddress.normalize) == email && email != nil }
            } else {
                let id = earlier.last?.userId ?? c.mixerUserId
                landed = accounts.first { $0.id == id }.map { Recovery.shows($0, c) } ?? (c.kind == .delete)
            }
            return landed ? .landed : .none
        } catch {
            logger.error("an earlier attempt cannot be settled; nothing is sent", metadata: ["queue.key": "\(item.key)", "error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            return .unknown
        }
    }

    /// The view follows a confirmed change, so the feed does not plan it again; an invite adds its account.
    private func confirmed(_ change: Change, linkedId: String?) {
        if change.kind == .invite, let id = linkedId, indexById[id] == nil {
            let held = change.inviteNeedsUpdate ? change.to : change.inviteGrant
            var brands: [String: Role] = [:]
            for (name, role) in held.brands ?? [:] { if let bid = brandIdByName[name] { brands[bid] = role } }
            indexById[id] = accounts.count
            accounts.append(Account(id: id, email: change.email, fullName: change.to.fullName, jobTitle: change.to.jobTitle,
                                    company: change.to.company, globalRole: held.role, brands: brands, active: true,
                                    pending: true, createdAt: clock()))
            return
        }
        guard let id = change.mixerUserId, let i = indexById[id] else { return }
        if let active = change.to.active { accounts[i].active = active }
        if let role = change.to.role { accounts[i].globalRole = role }
        if let brands = change.to.brands {
            var byId: [String: Role] = [:]
            for (name, role) in brands { if let bid = brandIdByName[name] { byId[bid] = role } }
            accounts[i].brands = byId
        }
        if let v = change.to.fullName { accounts[i].fullName = v }
        if let v = change.to.jobTitle { accounts[i].jobTitle = v }
        if let v = change.to.company { accounts[i].company = v }
    }

    /// Waits for a kick, or until `deadline` (at most a minute: the loop looks again).
    private func sleep(until deadline: Date?) async {
        if kicked {
            kicked = false
            return
        }
        let seconds = min(60, max(0, (deadline ?? clock().addingTimeInterval(60)).timeIntervalSince(clock())))
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))) != nil else { return }
            await self?.kick()
        }
        await withCheckedContinuation { waiter = $0 }
        timer.cancel()
    }
}

