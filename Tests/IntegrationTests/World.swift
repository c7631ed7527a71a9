import Foundation
import Sandbox
import Testing
import TestSupport

/// One end-to-end world: its own subtree in the test slapd (`ou=e2e-…,dc=example,dc=com`, written through the
/// rootdn with ldapmodify), its own mixerai-sandbox process, and a config, state and report folder for the
/// `mixer-sync` binary. Worlds do not share anything, so their tests run side by side.
final class World: @unchecked Sendable {
    struct Person {
        var uid: String
        var mail: String?
        var name: String
        var title = "Writer"
        var extra: [String] = []
        init(_ uid: String, mail: String? = nil, name: String? = nil, title: String = "Writer", extra: [String] = []) {
            self.uid = uid
            self.mail = mail ?? "\(uid)@e2e.example.com"
            self.name = name ?? "Person \(uid)"
            self.title = title
            self.extra = extra
        }
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var report: [String: Any]
        var changes: [[String: Any]] { report["changes"] as? [[String: Any]] ?? [] }
        func kinds() -> [String] { changes.map { "\($0["kind"] as? String ?? "?") \($0["email"] as? String ?? "?")" }.sorted() }
        var planHash: String { report["plan_hash"] as? String ?? "" }
        var outcome: String { report["outcome"] as? String ?? "" }
        func gate(_ name: String) -> String? {
            (report["gates"] as? [[String: Any]])?.first { $0["name"] as? String == name }?["verdict"] as? String
        }
        func list(_ key: String) -> [[String: Any]] { report[key] as? [[String: Any]] ?? [] }
    }

    let base: String
    let folder: String
    let config: String
    let sandbox: SandboxProcess
    /// The slapd this world lives in (the shared test directory unless a test brings its own).
    let ldapURL: String
    /// The MixerAI service password: a canary unique to this world, searched for in everything mixer-sync wrote.
    let mixerPassword: String
    var people: String { "ou=people,\(base)" }
    var groups: String { "ou=groups,\(base)" }
    var leavers: String { "ou=leavers,\(base)" }

    /// Role mappings every world uses: editors → Editor on Brand A, viewers → View Only on Brand B,
    /// admins → Administrator (global), staff → Editor (global).
    init(people: [Person], groups: [String: [String]], seedUsers: [JSONValue] = [], policy: String = "",
         sandboxArguments: [String] = [], extraUserRules: String = "", extraConfig: String = "",
         ldapURL: String? = nil, mixerPassword: String? = nil) throws {
        self.ldapURL = try ldapURL ?? TestDirectory.ldapURL
        let id = UUID().uuidString.prefix(8).lowercased()
        let mixerPassword = mixerPassword ?? "CANARY-MIXERAI-\(id)"
        self.mixerPassword = mixerPassword
        base = "ou=e2e-\(id),dc=example,dc=com"
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mixer-sync-e2e-\(id)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let seed: JSONValue = [
            "brands": [["name": "Brand A"], ["name": "Brand B"], ["name": "Brand C"]],
            "users": .array([["email": "mixer-sync@example.com", "password": .string(mixerPassword), "full_name": "mixer-sync",
                              "role": "admin", "global_role": "admin"],
                             ["email": "breakglass@example.com", "full_name": "Break Glass", "role": "admin", "global_role": "admin"]]
                            + seedUsers),
        ]
        try seed.text().write(toFile: folder + "/seed.json", atomically: true, encoding: .utf8)
        sandbox = try SandboxProcess(["--seed", folder + "/seed.json"] + sandboxArguments)
        try FileManager.default.copyItem(atPath: try TestDirectory.dir + "/bind-password", toPath: folder + "/bind-password")
        try (mixerPassword + "\n").write(toFile: folder + "/mixerai-password", atomically: true, encoding: .utf8)
        chmod(folder + "/mixerai-password", 0o600)
        config = folder + "/mixer-sync.toml"
        try """
        [directory]
        url = "\(self.ldapURL)"
        bind_dn = "\(TestDirectory.serviceDN)"
        bind_password_file = "bind-password"
        timeout = "10s"
        page_size = 50

        [[directory.users]]
        name = "staff"
        base = "\(self.people)"
        filter = "(objectClass=inetOrgPerson)"
        \(extraUserRules)
        [directory.groups]
        base = "\(self.groups)"

        [directory.leavers]
        disabled_filter = "(employeeType=terminated)"
        leavers_base = "\(self.leavers)"

        [[roles]]
        group = "cn=editors,\(self.groups)"
        role = "Editor"
        brand = "Brand A"

        [[roles]]
        group = "cn=viewers,\(self.groups)"
        role = "View Only"
        brand = "Brand B"

        [[roles]]
        group = "cn=admins,\(self.groups)"
        role = "Administrator"

        [[roles]]
        group = "cn=staff,\(self.groups)"
        role = "Editor"

        \(sandbox.configSection)

        [policy]
        protected = ["breakglass@example.com"]
        \(policy)

        [state]
        directory = "\(folder)/state"

        [report]
        directory = "\(folder)/reports"
        \(extraConfig)
        """.write(toFile: config, atomically: true, encoding: .utf8)

        var ldif = ["dn: \(base)\nobjectClass: organizationalUnit\nou: e2e-\(id)"]
        for ou in ["people", "groups", "leavers"] { ldif.append("dn: ou=\(ou),\(base)\nobjectClass: organizationalUnit\nou: \(ou)") }
        for p in people { ldif.append(entry(p)) }
        // Every mapped group exists (a missing one holds restricting plans: the role_groups gate).
        var allGroups = groups
        for cn in ["editors", "viewers", "admins", "staff"] where allGroups[cn] == nil { allGroups[cn] = [] }
        for (cn, members) in allGroups.sorted(by: { $0.key < $1.key }) {
            // groupOfNames needs a member: an empty group names the OU itself.
            let lines = (members.isEmpty ? [self.people] : members.map { "uid=\($0),\(self.people)" }).map { "member: \($0)" }
            ldif.append((["dn: cn=\(cn),\(self.groups)", "objectClass: groupOfNames", "cn: \(cn)"] + lines).joined(separator: "\n"))
        }
        try ldap(ldif.joined(separator: "\n\n"), add: true)
    }

    func entry(_ p: Person, under: String? = nil) -> String {
        var lines = ["dn: uid=\(p.uid),\(under ?? people)", "objectClass: inetOrgPerson", "uid: \(p.uid)", "cn: \(p.name)",
                     "sn: \(p.name.split(separator: " ").last ?? "X")", "title: \(p.title)", "o: Example Ltd"]
        if let mail = p.mail { lines.append("mail: \(mail)") }
        return (lines + p.extra).joined(separator: "\n")
    }

    func dn(_ uid: String) -> String { "uid=\(uid),\(people)" }

    /// Runs ldapmodify (or ldapadd) as the rootdn with this LDIF; throws with its stderr when it fails.
    func ldap(_ ldif: String, add: Bool = false) throws {
        let file = folder + "/change-\(UUID().uuidString).ldif"
        try (ldif + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let out = try CommandLineTests.runShell(
            "ldapmodify \(add ? "-a" : "") -x -H '\(ldapURL)' -D 'cn=admin,dc=example,dc=com' "
            + "-y '\(try TestDirectory.dir)/admin-password' -f '\(file)' >/dev/null 2>'\(file).err'; echo $?")
        guard out.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else {
            throw World.Failure(description: "ldapmodify failed: " + ((try? String(contentsOfFile: file + ".err", encoding: .utf8)) ?? ""))
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Runs `mixer-sync COMMAND ARGS --config …` and reads the report it wrote (`latest.json`). The wait happens
    /// on a thread of its own: blocking Swift's few cooperative threads would starve the other tests' timeouts.
    func run(_ arguments: String..., environment: [String: String] = [:]) async throws -> Result {
        try await run(argv: arguments, environment: environment)
    }

    func run(argv arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let argv = arguments + ["--config", config]
        let r = try await withCheckedThrowingContinuation { (k: CheckedContinuation<CommandLineTests.Run, any Error>) in
            Thread.detachNewThread {
                do { k.resume(returning: try CommandLineTests.run(argv, environment: environment)) } catch { k.resume(throwing: error) }
            }
        }
        let data = FileManager.default.contents(atPath: folder + "/reports/latest.json") ?? Data("{}".utf8)
        let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        // Everything the commands printed, for the canary search of the reliability audit.
        if let log = FileHandle(forWritingAtPath: folder + "/commands.log") ?? {
            FileManager.default.createFile(atPath: folder + "/commands.log", contents: nil)
            return FileHandle(forWritingAtPath: folder + "/commands.log")
        }() {
            log.seekToEndOfFile()
            log.write(Data("$ mixer-sync \(argv.joined(separator: " "))\n\(r.stdout)\(r.stderr)".utf8))
            try? log.close()
        }
        let violations = try Self.reportViolations(folder: folder + "/reports", validated: &validated)
        #expect(violations.isEmpty, "reports that break docs/report.schema.json:\n\(violations.joined(separator: "\n"))")
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr, report: report)
    }

    /// Report files already checked against the schema.
    private var validated: Set<String> = []

    /// Checks every report in `folder` not checked yet against docs/report.schema.json: the violations, as
    /// "file: path: problem".
    static func reportViolations(folder: String, validated: inout Set<String>) throws -> [String] {
        let schema = try JSONSchema.report()
        var out: [String] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names.sorted() where name.hasSuffix(".json") && name != "latest.json" && !validated.contains(name) {
            validated.insert(name)
            guard let data = FileManager.default.contents(atPath: folder + "/" + name), let json = JSONValue.parse(data) else {
                out.append("\(name): not JSON")
                continue
            }
            out += schema.violations(json).map { "\(name): \($0)" }
        }
        return out
    }

    /// Starts `mixer-sync COMMAND --config …` without waiting (a test kills it), its output discarded.
    func spawn(_ arguments: String...) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestDirectory.env("MIXER_SYNC_BIN"))
        process.arguments = arguments + ["--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The sandbox's users by email (the test hook: no budget spent).
    func users() throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for u in try sandbox.hook("GET", "state")["users"]?.array ?? [] { if let e = u["email"]?.string { out[e] = u } }
        return out
    }

    /// Brand name → role for one sandbox user.
    func brands(_ email: String) throws -> [String: String] { try Self.brands(email, in: sandbox) }

    /// Brand name → role for one user of any sandbox.
    static func brands(_ email: String, in sandbox: SandboxProcess) throws -> [String: String] {
        let state = try sandbox.hook("GET", "state")
        guard let id = (state["users"]?.array ?? []).first(where: { $0["email"]?.string == email })?["id"]?.string else { return [:] }
        let names = Dictionary(uniqueKeysWithValues: (state["brands"]?.array ?? []).compactMap { b in
            b["id"]?.string.flatMap { id in b["name"]?.string.map { (id, $0) } }
        })
        var out: [String: String] = [:]
        for p in state["permissions"]?.array ?? [] where p["user_id"]?.string == id {
            out[names[p["brand_id"]?.string ?? ""] ?? "?"] = p["role"]?.string
        }
        return out
    }

    /// Writes MixerAI received (the sandbox's request log, mutations under /api/users/).
    func writes() throws -> [JSONValue] {
        (try sandbox.hook("GET", "requests")["requests"]?.array ?? []).filter {
            ($0["path"]?.string ?? "").hasPrefix("/api/users/") && $0["method"]?.string != "GET"
        }
    }

    deinit {
        sandbox.stop()
        _ = try? ldapDeleteTree()
    }

    func ldapDeleteTree() throws {
        _ = try CommandLineTests.runShell("ldapdelete -r -x -H '\(ldapURL)' -D 'cn=admin,dc=example,dc=com' "
                                          + "-y '\(try TestDirectory.dir)/admin-password' '\(base)' >/dev/null 2>&1")
    }
}
