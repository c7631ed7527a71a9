import Logging
import ServiceLifecycle

/// One of the daemon's services, named, that may not end on its own: before the group shuts down, a service that
/// returns or throws stops the whole daemon with an error naming it (exit 1, so systemd's `Restart=on-failure`
/// starts it again), instead of the rest running on without it (a SCIM bridge that never listened, a change feed
/// that gave up).
struct Supervised: Service {
    let name: String
    let service: any Service
    let logger: Logger

    init(_ name: String, _ service: any Service, logger: Logger) {
        self.name = name
        self.service = service
        self.logger = logger
    }

    func run() async throws {
        do {
            try await service.run()
        } catch {
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { throw error }
            logger.error("the \(name) stopped: \(error); the daemon stops")
            throw RunError("the \(name) stopped: \(error)")
        }
        guard Task.isCancelled || Task.isShuttingDownGracefully else {
            logger.error("the \(name) ended on its own; the daemon stops")
            throw RunError("the \(name) ended on its own")
        }
    }

    /// The group's entry for it.
    var configuration: ServiceGroupConfiguration.ServiceConfiguration { .init(service: self) }
}
