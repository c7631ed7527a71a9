import Foundation
import Testing

/// The `mixer-sync` binary as an administrator runs it: check-config and test-query against the test slapd.
@Suite struct CommandLineTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try runProgram(try TestDirectory.env("MIXER_SYNC_BIN"), arguments, environment: environment)
    }

    /// Runs a program to its end (without the credentials directory of the test's own environment).
    static func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CREDENTIALS_DIRECTORY")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Writes a config for the test directory into a fresh folder and returns its path.
    static func writeConfig(bindDN: String = TestDirectory.serviceDN, passwordFile: String = "bind-password",
                            extra: String = "") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mixer-sync-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["bind-password", "limited-password"] {
            try FileManager.default.copyItem(atPath: try TestDirectory.dir + "/" + name, toPath: folder + "/" + name)
        }
        let text = """
        [directory]
        url = "\(try TestDirectory.ldapURL)"
        bind_dn = "\(bindDN)"
        bind_password_file = "\(passwordFile)"
        timeout = "10s"

        [[directory.users]]
        name = "staff"
        base = "\(TestDirectory.people)"
        filter = "(objectClass=inetOrgPerson)"

        [directory.groups]
        base = "\(TestDirectory.groups)"

        [directory.leavers]
        disabled_filter = "(employeeType=terminated)"
        leavers_base = "\(TestDirectory.leavers)"
        \(extra)
        """
        try text.write(toFile: folder + "/mixer-sync.toml", atomically: true, encoding: .utf8)
        return folder + "/mixer-sync.toml"
    }

    /// `mixer-sync [--config FILE] <command>`: the file is honoured before the command and after it, in both
    /// spellings, for every command (a missing file named in the error proves which file was read).
    @Test func configBeforeOrAfterTheCommandForEveryCommand() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/mixer-sync.toml"
        let commands: [[String]] = [["plan"], ["apply"], ["run"], ["approve", "sha256:00"], ["explain", "a@example.com"],
                                    ["status"], ["test-query"], ["check-config"], ["check-mixerai"]]
        for command in commands {
            for argv in [["--config", missing] + command, command + ["--config", missing], ["--config=\(missing)"] + command] {
                let run = try Self.run(argv)
                #expect(run.status == 1, "\(argv): \(run.stderr)")
                #expect(run.stderr.contains(missing), "\(argv) did not read the named file: \(run.stderr)")
                #expect(!run.stderr.contains("Unknown option"), "\(argv): \(run.stderr)")
            }
        }
        let config = try Self.writeConfig()
        let before = try Self.run(["--config", config, "check-config"])
        let after = try Self.run(["check-config", "--config", config])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout == after.stdout && before.status == after.status)
        let query = try Self.run(["--config", config, "test-query", "staff", "--json"])
        #expect(query.status == 0 && query.json?["complete"] as? Bool == true, "\(query.stderr)")
    }

    /// docs/commands.md: `leaver_evidence` lists every kind that applies — an entry under leavers_base that is also
    /// disabled and locked shows all three, not only the first found.
    @Test func aLeaverUnderTheLeaversBaseListsEveryPieceOfEvidence() async throws {
        let w = try World(people: [.init("ev1")], groups: ["staff": ["ev1"]])
        try w.ldap(w.entry(.init("ev2", extra: ["employeeType: terminated", "pwdAccountLockedTime: 000001010000Z"]),
                           under: w.leavers), add: true)
        try w.ldap(w.entry(.init("ev3", extra: ["employeeType: terminated"]), under: w.leavers), add: true)
        let r = try await w.run("test-query", "--json", "--all")
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])
        let people = try #require(json["people"] as? [[String: Any]])
        func evidence(_ uid: String) -> Set<String> {
            Set(people.first { $0["email"] as? String == "\(uid)@e2e.example.com" }?["leaver_evidence"] as? [String] ?? [])
        }
        #expect(evidence("ev2") == ["leavers_base", "disabled_filter", "account_lock"])
        #expect(evidence("ev3") == ["leavers_base", "disabled_filter"])
        #expect(evidence("ev1").isEmpty)
    }

    @Test func testQueryJSONHasTheContractFields() throws {
        let config = try Self.writeConfig()
        let run = try Self.run(["test-query", "--json", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(run.json)
        let expected = try TestDirectory.users + TestDirectory.specialPeople + TestDirectory.leaverEntries
        #expect(json["complete"] as? Bool == true)
        #expect(json["entries"] as? Int == expected)
        #expect((json["pages"] as? Int ?? 0) >= 4)
        let searches = try #require(json["searches"] as? [String])
        #expect(searches.count == 5)
        #expect(searches.allSatisfy { $0.contains("ldapsearch -H") && $0.contains("-y ") && !$0.contains("mixer-sync-test-password") })
        let people = try #require(json["people"] as? [[String: Any]])
        #expect(people.count == 10)
        let first = try #require(people.first)
        for key in ["anchor", "dn", "email", "full_name", "leaver", "leaver_evidence", "groups"] {
            #expect(first[key] != nil, "missing \(key)")
        }
    }

    @Test func testQueryAllListsEveryoneIncludingLeavers() throws {
        let config = try Self.writeConfig()
        let run = try Self.run(["test-query", "staff", "--json", "--all", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        let people = try #require(run.json?["people"] as? [[String: Any]])
        #expect(people.count == (try TestDirectory.users + TestDirectory.specialPeople + TestDirectory.leaverEntries))
        let gone = try #require(people.first { $0["email"] as? String == "gone01@example.com" })
        #expect(gone["leaver"] as? Bool == true)
        #expect(gone["leaver_evidence"] as? [String] == ["leavers_base"])
        let noMail = try #require(people.first { ($0["dn"] as? String)?.hasPrefix("uid=nomail01,") == true })
        #expect(noMail["email"] is NSNull)
    }

    @Test func thePrintedLdapsearchCommandReadsTheSameEntries() throws {
        let config = try Self.writeConfig()
        let run = try Self.run(["test-query", "--json", "--config", config])
        let searches = try #require(run.json?["searches"] as? [String])
        let staff = try #require(searches.first { $0.contains("-b ou=people,") && !$0.contains("employeeType") })
        // ldapsearch -y reads the whole file, newline included: give it the bare password.
        let folder = (config as NSString).deletingLastPathComponent
        try "mixer-sync-test-password".write(toFile: folder + "/bind-password", atomically: true, encoding: .utf8)
        let shell = try Self.runShell(staff + " | grep -c '^dn:'")
        #expect(Int(shell.trimmingCharacters(in: .whitespacesAndNewlines)) == (try TestDirectory.users + TestDirectory.specialPeople))
    }

    static func runShell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func anIncompleteReadExitsOneWithCompleteFalse() throws {
        let config = try Self.writeConfig(bindDN: TestDirectory.limitedDN, passwordFile: "limited-password")
        let run = try Self.run(["test-query", "--json", "--config", config])
        #expect(run.status == 1)
        let json = try #require(run.json)
        #expect(json["complete"] as? Bool == false)
        #expect((json["error"] as? String)?.contains("sizeLimitExceeded") == true)
    }

    @Test func unknownRuleIsAnError() throws {
        let run = try Self.run(["test-query", "nope", "--config", try Self.writeConfig()])
        #expect(run.status == 1)
        #expect(run.stderr.contains("unknown rule"))
    }

    @Test func checkConfigValidatesTheFileAndItsSecrets() throws {
        let good = try Self.run(["check-config", "--config", try Self.writeConfig()])
        #expect(good.status == 0, "\(good.stderr)")
        let missing = try Self.run(["check-config", "--config", try Self.writeConfig(passwordFile: "nope")])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("directory.bind_password_file"))
        let typo = try Self.run(["check-config", "--config", try Self.writeConfig(extra: "[policy]\nmax_shrink = 5\n")])
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("policy.max_shrink: unknown key"))
        #expect(typo.stderr.contains("mixer-sync.toml:19"), "\(typo.stderr)")
    }

    @Test func configComesFromTheEnvironmentToo() throws {
        let run = try Self.run(["check-config"], environment: ["MIXER_SYNC_CONFIG": try Self.writeConfig()])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func relativeSecretsAreLookedUpInTheCredentialsDirectory() throws {
        let config = try Self.writeConfig(passwordFile: "ldap-bind-password")
        let credentials = FileManager.default.temporaryDirectory.appendingPathComponent("cred-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestDirectory.passwordFile, toPath: credentials + "/ldap-bind-password")
        let run = try Self.run(["test-query", "--json", "--config", config], environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["complete"] as? Bool == true)
    }
}
