import Foundation
import Testing
@testable import Config

/// The shipped example must stay valid: it is what administrators copy.
@Suite struct ExampleConfigTests {
    static var examplePath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/mixer-sync.example.toml").path
    }

    @Test func theExampleParses() throws {
        let config = try ConfigLoader.load(path: Self.examplePath, environment: [:])
        #expect(config.directory.users.map(\.name) == ["staff"])
        #expect(config.roles.count == 2)
        #expect(config.mixerai?.serviceEmail == "mixer-sync@example.com")
        #expect(config.directory.readDeadline == .seconds(600))
        #expect(config.warnings.isEmpty)
        // Exactly the two secrets the systemd units load as credentials (LoadCredential=).
        #expect(config.secretFiles.map(\.key) == ["directory.bind_password_file", "mixerai.service_password_file"])
    }

    @Test func theActiveDirectoryExampleParses() throws {
        let path = Self.examplePath.replacingOccurrences(of: "mixer-sync.example.toml", with: "mixer-sync.ad.example.toml")
        let config = try ConfigLoader.load(path: path, environment: [:])
        #expect(config.directory.flavor == .activeDirectory)
        #expect(config.directory.attributes.anchor == "objectGUID")
        #expect(config.directory.attributes.uid == "sAMAccountName")
        #expect(config.warnings.isEmpty)
        #expect(config.secretFiles.map(\.key) == ["directory.bind_password_file", "mixerai.service_password_file"])
    }
}
