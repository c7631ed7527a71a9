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

    @Test func theSCIMExampleParses() throws {
        let path = Self.examplePath.replacingOccurrences(of: "mixer-sync.example.toml", with: "mixer-sync.scim.example.toml")
        let config = try ConfigLoader.load(path: path, environment: [:])
        #expect(config.source == .scim && config.scim?.listen == "127.0.0.1:9443" && config.scim?.tls == false)
        #expect(config.roles.map(\.group) == ["MixerAI Editors", "MixerAI Admins"])
        #expect(config.secretFiles.map(\.key) == ["mixerai.service_password_file", "scim.token_file"])
    }

    /// `[scim]`'s mistakes stop the program with the line and the key.
    @Test func scimMistakesNameTheKey() throws {
        func error(_ text: String) -> ConfigError? {
            do { _ = try ConfigLoader.parse(source: text, file: "m.toml", configDirectory: "/etc", credentialsDirectory: nil); return nil }
            catch { return error as? ConfigError }
        }
        let roles = "\n[[roles]]\ngroup = \"Editors\"\nrole = \"Editor\"\n"
        #expect(error("source = \"scim\"\n[scim]\nlisten = \"0.0.0.0:9443\"\ntoken_file = \"t\"\n" + roles)?.key == "scim.listen",
                "plaintext off loopback")
        #expect(error("source = \"scim\"\n[scim]\nlisten = \"127.0.0.1:9443\"\n" + roles)?.key == "scim.token_file")
        #expect(error("source = \"scim\"\n[scim]\ntoken = \"inline\"\ntoken_file = \"t\"\n" + roles)?.key == "scim.token")
        #expect(error("source = \"scim\"\n" + roles)?.key == "source", "source = scim without [scim]")
        #expect(error("source = \"ldap\"\n[scim]\ntoken_file = \"t\"\n" + roles)?.key == "directory")
        #expect(error("source = \"scim\"\n[scim]\ntoken_file = \"t\"\ncert_file = \"c.pem\"\n" + roles)?.key == "scim.key_file")
        #expect(error("source = \"scim\"\n[scim]\ntoken_file = \"t\"\n" + roles) == nil)
    }
}
