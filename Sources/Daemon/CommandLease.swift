import Config
import Foundation
import State

/// `apply` from the command line on a shared PostgreSQL state (docs/high-availability.md): it takes the leader's
/// lease for its run, like a daemon would, so it never writes beside a leading daemon; its writes are fenced, and
/// the lease is renewed every third of its length on a connection of its own and given up at the end.
final class CommandLease: @unchecked Sendable {
    let holder: String
    private let leaseStore: StateStore
    private let workStore: StateStore
    private var renewal: Task<Void, Never>?

    /// Takes the lease, or throws naming the daemon that leads.
    init(config: MixerSyncConfig, store: StateStore) throws {
        guard let target = config.state.postgres else { throw RunError("[state] backend = \"postgresql\" needs url") }
        let seconds = Double(config.state.lease.components.seconds)
        let host = ProcessInfo.processInfo.hostName
        holder = "apply@" + StateStore.leaseHolder()
        leaseStore = try StateStore(postgres: try config.postgresSettings(target))
        workStore = store
        let lease = try leaseStore.acquireLease(holder: holder, host: host, duration: seconds)
        guard lease.holder == holder else {
            leaseStore.disconnect()
            throw RunError("the daemon on \(lease.host) leads (lease epoch \(lease.epoch)): it applies every plan itself; "
                           + "`plan` shows what it will do and `approve HASH` releases a held plan")
        }
        store.fence(holder: holder, epoch: lease.epoch)
        let (leaseStore, holder) = (leaseStore, holder)
        renewal = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(seconds / 3))
                guard !Task.isCancelled else { break }
                // A renewal that fails leaves the fence to refuse every later write once the lease has run out.
                _ = try? await leaseStore.perform { try $0.acquireLease(holder: holder, host: host, duration: seconds) }
            }
        }
    }

    /// Gives the lease up (a daemon takes it at its next renewal) and lifts the fence.
    func release() async {
        renewal?.cancel()
        await renewal?.value
        let holder = self.holder
        try? await leaseStore.perform { try $0.releaseLease(holder: holder) }
        leaseStore.disconnect()
        workStore.unfence()
    }
}
