@testable import Daemon
import Logging
import ServiceLifecycle
import Testing

/// A service of the daemon that ends or fails before the daemon is asked to stop stops the daemon, naming it.
@Suite struct SupervisedTests {
    struct EndsAtOnce: Service { func run() async throws {} }
    struct Fails: Service {
        struct Broken: Error, CustomStringConvertible { var description: String { "no certificate" } }
        func run() async throws { throw Broken() }
    }
    struct RunsUntilShutdown: Service { func run() async throws { try await gracefulShutdown() } }

    func stops(_ failing: any Service) async -> String? {
        let logger = Logger(label: "supervised-test")
        let group = ServiceGroup(configuration: .init(services: [
            Supervised("change feed", RunsUntilShutdown(), logger: logger).configuration,
            Supervised("SCIM bridge", failing, logger: logger).configuration,
        ], logger: logger))
        do {
            try await group.run()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aServiceThatEndsOnItsOwnStopsTheDaemon() async {
        #expect(await stops(EndsAtOnce()) == "the SCIM bridge ended on its own")
    }

    @Test func aServiceThatFailsStopsTheDaemonWithItsError() async {
        #expect(await stops(Fails()) == "the SCIM bridge stopped: no certificate")
    }
}
