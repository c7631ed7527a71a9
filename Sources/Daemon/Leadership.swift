import Config
import CurlHTTP
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import State

/// One term of leadership: the daemon's work runs while it lasts and stops when it ends (docs/high-availability.md).
public final class Term: @unchecked Sendable {
    public let epoch: Int64
    private let lock = NSLock()
    private var over = false
    private var handlers: [@Sendable () -> Void] = []

    public init(epoch: Int64) { self.epoch = epoch }

    public var ended: Bool { lock.withLock { over } }

    /// Runs `handler` when the term ends (at once if it has).
    public func onEnd(_ handler: @escaping @Sendable () -> Void) {
        let now = lock.withLock { () -> Bool in
            if over { return true }
            handlers.append(handler)
            return false
        }
        if now { handler() }
    }

    func end() {
        let run = lock.withLock { () -> [@Sendable () -> Void] in
            guard !over else { return [] }
            over = true
            defer { handlers = [] }
            return handlers
        }
        for h in run { h() }
    }
}

/// Leader or standby on a PostgreSQL state shared by two hosts. The lease is renewed every third of its length on
/// a connection of its own (a busy or stuck state connection never delays it); the work store is fenced with the
/// epoch, so a write after the lease is lost — in PostgreSQL's clock — is refused. Locally, a term ends as soon as
/// the lease can no longer be proven: 80 % of the lease after the start of the last renewal that succeeded (the
/// host's monotonic clock), whether or not PostgreSQL answers.
public final class Leadership: @unchecked Sendable {
    public enum Role: Sendable, Equatable {
        case standby(leader: Lease?)
        case leader(epoch: Int64)
    }

    let config: MixerSyncConfig
    let holder: String
    let host: String
    let logger: Logger
    let notify: SystemdNotify
    private let lock = NSLock()
    private var role: Role = .standby(leader: nil)
    private var validUntil: ContinuousClock.Instant?
    private var term: Term?
    private var terms: AsyncStream<Term>.Continuation
    /// Each new term, as it starts (the daemon's work runs one term at a time).
    public let newTerms: AsyncStream<Term>

    public init(config: MixerSyncConfig, notify: SystemdNotify, logger: Logger) {
        self.config = config
        host = ProcessInfo.processInfo.hostName
        holder = StateStore.leaseHolder()
        self.notify = notify
        self.logger = logger
        (newTerms, terms) = AsyncStream.makeStream(of: Term.self)
    }

    public var current: Role { lock.withLock { role } }

    var leaseSeconds: Double {
        Double(config.state.lease.components.seconds) + Double(config.state.lease.components.attoseconds) / 1e18
    }

    /// Renews or takes the lease until SIGTERM, then gives it up (the standby need not wait for it to expire).
    public func run() async {
        let lease = config.state.lease
        let workStore: StateStore
        let leaseStore: StateStore
        do {
            workStore = try config.openState()
            leaseStore = try StateStore(postgres: try config.postgresSettings(config.state.postgres!))
        } catch {
            logger.error("leadership: the PostgreSQL state cannot be opened", metadata: ["state.error": "\(error)"])
            return
        }
        notify.ready("standby: looking for the lease")
        // Nothing that changes MixerAI or GoTrue leaves this process unless its lease is proven at that instant.
        SendGate.install { [weak self] _, _ in self?.sendRefusal() }
        defer { SendGate.install(nil) }
        let watcher = Task { await self.watchDeadline() }
        // Until SIGTERM, or the group's cancellation (another service failed): a lease must never outlive the work.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let seen = try await leaseStore.perform { [holder, host, leaseSeconds] in
                    try $0.acquireLease(holder: holder, host: host, duration: leaseSeconds)
                }
                if seen.holder == holder {
                    lead(seen, store: workStore, validUntil: started + lease * 0.8)
                } else {
                    standBy(leader: seen, reason: "the lease is held by \(seen.host)")
                }
            } catch {
                logger.warning("leadership: the lease cannot be renewed", metadata: ["state.error": "\(error)"])
                // The term ends at its deadline (the watcher) if no later renewal succeeds.
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: lease / 3) }
        }
        watcher.cancel()
        let wasLeader = lock.withLock { if case .leader = role { return true } else { return false } }
        standBy(leader: nil, reason: "stopping")
        terms.finish()
        if wasLeader { try? await leaseStore.perform { [holder] in try $0.releaseLease(holder: holder) } }
        leaseStore.disconnect()
    }

    /// Why a write may not be sent now: not the leader, or the lease not proven any more (its local deadline).
    func sendRefusal() -> String? {
        lock.withLock {
            guard case .leader(let epoch) = role else { return "this process is a standby" }
            guard let validUntil, ContinuousClock.now < validUntil else { return "the lease (epoch \(epoch)) is no longer proven" }
            return nil
        }
    }

    private func lead(_ lease: Lease, store: StateStore, validUntil deadline: ContinuousClock.Instant) {
        let started: Term? = lock.withLock {
            validUntil = deadline
            if case .leader(let epoch) = role, epoch == lease.epoch { return nil }
            store.fence(holder: holder, epoch: lease.epoch)
            role = .leader(epoch: lease.epoch)
            let t = Term(epoch: lease.epoch)
            term = t
            return t
        }
        Gauge(label: "mixer_sync_leader").record(1)
        Gauge(label: "mixer_sync_lease_epoch").record(Int(lease.epoch))
        Gauge(label: "mixer_sync_lease_age_seconds").record(0)
        if let started {
            // When PostgreSQL granted it, on this host's clock to the millisecond (a pair's log lines line up).
            let taken = String(format: "%.3f", Date().timeIntervalSince1970 - max(0, lease.age))
            logger.notice("leadership: leader", metadata: ["lease.epoch": "\(lease.epoch)", "lease.holder": "\(holder)",
                                                           "lease.taken_at_unix": "\(taken)"])
            notify.status("leader (epoch \(lease.epoch))")
            terms.yield(started)
        }
    }

    private func standBy(leader: Lease?, reason: String) {
        let (ended, newLeader): (Term?, Bool) = lock.withLock {
            let wasLeader: Bool = if case .leader = role { true } else { false }
            var newLeader = false
            if let leader, case .standby(let known) = role {
                newLeader = known?.holder != leader.holder || known?.epoch != leader.epoch
            } else if leader != nil {
                newLeader = true
            }
            role = .standby(leader: leader)
            validUntil = nil
            defer { term = nil }
            return (wasLeader ? term : nil, newLeader)
        }
        Gauge(label: "mixer_sync_leader").record(0)
        if let leader {
            Gauge(label: "mixer_sync_lease_epoch").record(Int(leader.epoch))
            Gauge(label: "mixer_sync_lease_age_seconds").record(leader.age)
        }
        if let ended {
            logger.warning("leadership: standby", metadata: ["lease.epoch": "\(ended.epoch)", "reason": "\(reason)"])
            ended.end()
        }
        if let leader, newLeader {
            logger.notice("leadership: standby", metadata: ["lease.leader": "\(leader.holder)", "lease.epoch": "\(leader.epoch)"])
            notify.status("standby (leader: \(leader.host), epoch \(leader.epoch))")
        }
    }

    /// Ends the term the moment its lease can no longer be proven, whatever the renewal loop is waiting for.
    private func watchDeadline() async {
        while !Task.isCancelled {
            let expired = lock.withLock { validUntil.map { ContinuousClock.now >= $0 } ?? false }
            if expired { standBy(leader: nil, reason: "the lease could not be renewed in time") }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// The lease's renewal loop as a service of the daemon's group.
public struct LeadershipService: Service {
    let leadership: Leadership
    public init(leadership: Leadership) { self.leadership = leadership }
    public func run() async throws { await leadership.run() }
}
