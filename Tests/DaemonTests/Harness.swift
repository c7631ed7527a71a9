import Config
import Daemon
import Foundation
import Logging
import MixerAI
import Reconcile
import State

/// One pipeline under test: a fake directory, a fake MixerAI, a state in memory, reports in a scratch directory.
struct Harness {
    static let editors = "cn=brand-a-editors,ou=groups,dc=example,dc=com"
    static let viewers = "cn=brand-a-viewers,ou=groups,dc=example,dc=com"
    static let brands = [MixerBrand(id: "b-1", name: "Brand A")]

    let directory = FakeDirectory()
    let mixerai: FakeMixerAI
    let store: StateStore
    let config: MixerSyncConfig
    let scratch: String

    /// `accounts` exist in MixerAI already; the policy's limits are the test's (a small company by default).
    /// `[supabase]` is on with `bans` (the revoker is `revoker`, a fake).
    let revoker = FakeRevoker()
    let bans: Bool

    init(accounts: [Account] = [], maxDeactivations: Int = 25, maxPercent: Int = 100, bans: Bool = false,
         fixAppMetadata: Bool = false) throws {
        self.bans = bans
        scratch = NSTemporaryDirectory() + "mixer-sync-daemon-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let toml = """
            # The directory is the fake: these settings are validated, never used to connect.
            [directory]
            url = "ldap://127.0.0.1:1"
            bind_dn = "cn=reader,dc=example,dc=com"
            bind_password_file = "bind-password"
            users = [{ name = "staff", base = "ou=people,dc=example,dc=com", filter = "(objectClass=inetOrgPerson)" }]
            groups = { base = "ou=groups,dc=example,dc=com", filter = "(objectClass=groupOfNames)" }

            [[roles]]
            group = "\(Self.editors)"
            role = "Editor"
            brand = "Brand A"

            [[roles]]
            group = "\(Self.viewers)"
            role = "Viewer"
            brand = "Brand A"

            [mixerai]
            url = "http://127.0.0.1:1"
            supabase_url = "http://127.0.0.1:1"
            supabase_anon_key = "anon"
            service_email = "mixer-sync@example.com"
            service_password_file = "mixerai-password"

            \(bans ? "[supabase]\nurl = \"http://127.0.0.1:1\"\nservice_role_key_file = \"service-role-key\"\nfix_app_metadata = \(fixAppMetadata)\n" : "")
            [policy]
            max_deactivations = \(maxDeactivations)
            max_deactivations_percent = \(maxPercent)
            max_shrink_percent = 100

            [state]
            directory = "\(scratch)/state"

            [report]
            directory = "\(scratch)/reports"
            formats = ["json"]
            """
        config = try ConfigLoader.parse(source: toml, file: scratch + "/mixer-sync.toml", configDirectory: scratch,
                                        credentialsDirectory: nil)
        mixerai = FakeMixerAI(brands: Self.brands, accounts: accounts)
        store = try StateStore.inMemory()
    }

    /// A reconciler wired to the fakes (as the daemon wires the real edges).
    func reconciler() -> Reconciler {
        var r = Reconciler(config: config)
        r.source = directory
        let mixerai = self.mixerai
        r.connect = { _ in mixerai }
        let store = self.store
        r.openState = { _ in store }
        let revoker = self.revoker
        r.revoke = { [bans] _ in bans ? revoker : nil }
        return r
    }

    /// An account of MixerAI linked to nobody yet, holding `role` on Brand A.
    static func account(_ uid: String, role: Role, active: Bool = true) -> Account {
        Account(id: "u-\(uid)", email: "\(uid)@example.com", fullName: "\(uid.capitalized) Test", jobTitle: nil,
                company: nil, globalRole: role, brands: ["b-1": role], active: active)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: scratch) }

    static var logger: Logger {
        var l = Logger(label: "daemon-tests")
        l.logLevel = .critical
        return l
    }
}
