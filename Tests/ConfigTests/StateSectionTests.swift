import Config
import Testing

/// `[state]` and `[ha]` (docs/high-availability.md): SQLite by default; PostgreSQL with a URL whose TLS rules are
/// checked at load, the password only from a file; `[ha]` only with PostgreSQL.
@Suite struct StateSectionTests {
    static let sqlite = "[state]\ndirectory = \"/var/lib/mixer-sync\"\n"

    func with(_ state: String) -> String {
        validConfig.replacingOccurrences(of: Self.sqlite, with: state)
    }

    @Test func sqliteByDefaultAndPostgreSQLWithItsPasswordFromAFile() throws {
        #expect(validConfig.contains(Self.sqlite))
        let c = try parse(validConfig)
        #expect(c.state.backend == .sqlite && c.state.postgres == nil)
        let pg = try parse(with("""
            [state]
            directory = "/var/lib/mixer-sync"
            backend = "postgresql"
            url = "postgresql://mixer_sync@db.example.com/mixer_sync"
            password_file = "postgres-password"

            [ha]
            lease = "15s"

            """), credentials: "/run/credentials/mixer-sync.service")
        #expect(pg.state.backend == .postgresql && pg.state.lease == .seconds(15))
        #expect(pg.state.postgres?.passwordFile == "/run/credentials/mixer-sync.service/postgres-password")
        #expect(pg.secretFiles.contains { $0.key == "state.password_file" })
    }

    @Test(arguments: [
        ("backend = \"postgresql\"\nurl = \"postgresql://sync@db.example.com/s?sslmode=disable\"", "state.url", "loopback only"),
        ("backend = \"postgresql\"\nurl = \"postgresql://sync:pw@127.0.0.1/s\"", "state.url", "password_file"),
        ("backend = \"postgresql\"\npassword = \"pw\"", "state.password", "never accepted inline"),
        ("backend = \"postgresql\"", "state.url", "is required"),
        ("backend = \"mysql\"", "state.backend", "must be one of"),
        ("url = \"postgresql://sync@127.0.0.1/s\"", "state.url", "only for backend = \"postgresql\""),
        ("backend = \"postgresql\"\nurl = \"postgresql://sync@127.0.0.1/s\"\ntimeout = \"500ms\"", "state.timeout", "at least 1s"),
    ])
    func mistakesNameTheLineAndTheKey(added: String, key: String, message: String) {
        let text = with(Self.sqlite + added + "\n")
        let wanted = key.split(separator: ".").last.map(String.init) ?? key
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let section = lines.firstIndex(of: "[state]") ?? 0
        let expectedLine = lines[section...].firstIndex { $0.hasPrefix(wanted + " ") }.map { $0 + 1 }
        do {
            _ = try parse(text)
            Issue.record("accepted: \(added)")
        } catch let error as ConfigError {
            #expect(error.key == key, "\(error)")
            if expectedLine != nil { #expect(error.line == expectedLine, "\(error)") }
            #expect(error.message.contains(message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func haNeedsPostgreSQLAndASaneLease() {
        #expect(throws: ConfigError.self) { try parse(validConfig + "\n[ha]\nlease = \"10s\"\n") }
        let pg = Self.sqlite + "backend = \"postgresql\"\nurl = \"postgresql://sync@127.0.0.1/s\"\n"
        #expect(throws: ConfigError.self) { try parse(with(pg) + "\n[ha]\nlease = \"1s\"\n") }
        #expect(throws: ConfigError.self) { try parse(with(pg) + "\n[ha]\nleader = true\n") }
        #expect((try? parse(with(pg) + "\n[ha]\nlease = \"10s\"\n"))?.state.lease == .seconds(10))
    }
}
