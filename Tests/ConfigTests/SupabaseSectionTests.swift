import Config
import Testing

/// `[supabase]` (docs/revocation.md): opt-in, the key only from a file, Go durations, mistakes named with the line.
@Suite struct SupabaseSectionTests {
    static let section = """

        [supabase]
        url = "https://abcd.supabase.co"
        service_role_key_file = "service-role-key"
        """

    @Test func absentByDefaultAndParsedWithDefaults() throws {
        #expect(try parse(validConfig).supabase == nil)
        let s = try #require(try parse(validConfig + Self.section, credentials: "/run/credentials/mixer-sync.service").supabase)
        #expect(s.bans && s.banDuration == "876000h" && s.banSeconds == 876_000 * 3600 && !s.fixAppMetadata)
        #expect(s.serviceRoleKeyFile == "/run/credentials/mixer-sync.service/service-role-key", "$CREDENTIALS_DIRECTORY first")
        #expect(try parse(validConfig + Self.section).secretFiles.contains { $0.key == "supabase.service_role_key_file" })
    }

    @Test(arguments: [
        ("service_role_key = \"eyJ…\"", "supabase.service_role_key", "service_role_key_file"),
        ("ban_duration = \"10d\"", "supabase.ban_duration", #"unknown unit "d""#),
        ("ban_duration = \"30s\"", "supabase.ban_duration", "at least 1h"),
        ("on_offboard = \"lock\"", "supabase.on_offboard", "must be one of"),
        ("fix_app_metadata = \"yes\"", "supabase.fix_app_metadata", "a boolean"),
        ("bans = true", "supabase.bans", "unknown key"),
    ])
    func mistakesNameTheLineAndTheKey(line: String, key: String, message: String) {
        let text = validConfig + Self.section + "\n" + line + "\n"
        let expectedLine = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        do {
            _ = try parse(text)
            Issue.record("accepted: \(line)")
        } catch let error as ConfigError {
            #expect(error.key == key && error.line == expectedLine, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func plaintextOnlyToLoopback() throws {
        let local = Self.section.replacingOccurrences(of: "https://abcd.supabase.co", with: "http://127.0.0.1:54321")
        #expect(try parse(validConfig + local).supabase?.url == "http://127.0.0.1:54321")
        let remote = Self.section.replacingOccurrences(of: "https://abcd.supabase.co", with: "http://auth.example.com")
        #expect(throws: ConfigError.self) { try parse(validConfig + remote) }
    }
}
