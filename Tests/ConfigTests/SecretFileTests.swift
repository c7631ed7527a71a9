import Foundation
import Secrets
import Testing

@Suite struct SecretFileTests {
    func temp(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func stripsExactlyOneTrailingNewline() throws {
        #expect(try SecretFile.read(temp("pw\n")).bytes == Array("pw".utf8))
        #expect(try SecretFile.read(temp("pw\r\n")).bytes == Array("pw".utf8))
        #expect(try SecretFile.read(temp("pw\n\n")).bytes == Array("pw\n".utf8))
        #expect(try SecretFile.read(temp(" pw ")).bytes == Array(" pw ".utf8))
    }

    @Test func emptyAndMissingFilesAreErrors() throws {
        #expect(throws: SecretFile.Failure.self) { try SecretFile.read(temp("\n")) }
        #expect(throws: SecretFile.Failure.self) { try SecretFile.read("/nonexistent/secret") }
    }

    @Test func secretsNeverPrint() throws {
        let secret = try SecretFile.read(temp("canary-1234\n"))
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("canary"))
    }

    @Test func relativePathsPreferTheCredentialsDirectory() {
        #expect(SecretFile.resolve("pw", configDirectory: "/etc/m", credentialsDirectory: "/run/cred") == "/run/cred/pw")
        #expect(SecretFile.resolve("pw", configDirectory: "/etc/m", credentialsDirectory: nil) == "/etc/m/pw")
        #expect(SecretFile.resolve("/abs/pw", configDirectory: "/etc/m", credentialsDirectory: "/run/cred") == "/abs/pw")
    }
}
