import Directory
import Foundation
import Reconcile
import Testing
@testable import Config

let validConfig = """
[directory]
url = "ldaps://ldap.example.com"
ca_file = "/etc/ssl/certs/corp-ca.pem"
bind_dn = "cn=mixer-sync,ou=services,dc=example,dc=com"
bind_password_file = "ldap-bind-password"
flavor = "openldap"
page_size = 500
timeout = "20s"

[directory.attributes]
department = "ou"

[[directory.users]]
name = "staff"
base = "ou=people,dc=example,dc=com"
scope = "sub"
filter = "(objectClass=inetOrgPerson)"

[[directory.users]]
name = "contractors"
base = "ou=contractors,dc=example,dc=com"
filter = "objectClass=inetOrgPerson"

[directory.groups]
base = "ou=groups,dc=example,dc=com"
nested = true

[directory.leavers]
disabled_filter = "(employeeType=terminated)"
leavers_base = "ou=leavers,dc=example,dc=com"

[[roles]]
group = "cn=mixerai-admins,ou=groups,dc=example,dc=com"
role = "Administrator"

[[roles]]
group = "cn=brand-a-editors,ou=groups,dc=example,dc=com"
role = "Editor"
brand = "Brand A"

[mixerai]
url = "https://mixerai.example.com"
supabase_url = "https://abcd.supabase.co"
supabase_anon_key = "public-anon-key"
service_email = "mixer-sync@example.com"
service_password_file = "mixerai-password"

[policy]
protected = ["BreakGlass@Example.com"]
max_deactivations = 10

[state]
directory = "/var/lib/mixer-sync"

[report]
formats = ["json", "html"]
keep = 30

[daemon]
full_sync_interval = "10m"
change_feed = "syncrepl"
"""

func parse(_ text: String, credentials: String? = nil) throws -> MixerSyncConfig {
    try ConfigLoader.parse(source: text, file: "test.toml", configDirectory: "/etc/mixer-sync",
                           credentialsDirectory: credentials)
}

@Suite struct ConfigLoaderTests {
    @Test func parsesTheFullExample() throws {
        let c = try parse(validConfig)
        #expect(c.directory.urls == ["ldaps://ldap.example.com"])
        #expect(c.directory.bindMethod == .simple)
        #expect(c.directory.bindPasswordFile == "/etc/mixer-sync/ldap-bind-password")
        #expect(c.directory.pageSize == 500)
        #expect(c.directory.timeout == .seconds(20))
        #expect(c.directory.attributes.department == "ou")
        #expect(c.directory.attributes.anchor == "entryUUID")
        #expect(c.directory.users.map(\.name) == ["staff", "contractors"])
        #expect(c.directory.users[1].scope == .sub)
        #expect(c.directory.leavers.leaversBase == "ou=leavers,dc=example,dc=com")
        #expect(c.roles == [RoleMapping(group: "cn=mixerai-admins,ou=groups,dc=example,dc=com", role: .admin),
                            RoleMapping(group: "cn=brand-a-editors,ou=groups,dc=example,dc=com", role: .editor, brand: "Brand A")])
        #expect(c.mixerai?.supabaseAnonKey == "public-anon-key")
        #expect(c.mixerai?.servicePasswordFile == "/etc/mixer-sync/mixerai-password")
        #expect(c.policy.protected == ["breakglass@example.com"])
        #expect(c.policy.maxDeactivations == 10)
        #expect(c.policy.maxShrinkPercent == 20)
        #expect(c.report.directory == "/var/lib/mixer-sync/reports")
        #expect(c.report.formats == [.json, .html])
        #expect(c.daemon.fullSyncInterval == .seconds(600))
        #expect(c.daemon.changeFeed == .syncrepl)
        #expect(c.warnings.isEmpty)
    }

    @Test func secretsResolveInTheCredentialsDirectoryFirst() throws {
        let c = try parse(validConfig, credentials: "/run/credentials/mixer-sync.service")
        #expect(c.directory.bindPasswordFile == "/run/credentials/mixer-sync.service/ldap-bind-password")
        #expect(c.mixerai?.servicePasswordFile == "/run/credentials/mixer-sync.service/mixerai-password")
    }

    @Test func flavorSetsAttributeDefaults() throws {
        let text = validConfig.replacingOccurrences(of: "flavor = \"openldap\"", with: "flavor = \"active-directory\"")
        let c = try parse(text)
        #expect(c.directory.attributes.anchor == "objectGUID")
        #expect(c.directory.attributes.fullName == "displayName")
        #expect(c.directory.attributes.department == "ou")  // explicitly set keys win
    }

    @Test func plaintextToLoopbackIsAccepted() throws {
        let text = validConfig.replacingOccurrences(of: "ldaps://ldap.example.com", with: "ldap://127.0.0.1:3890")
        #expect(try parse(text).warnings.isEmpty)
    }

    @Test func plaintextElsewhereNeedsAllowPlaintextAndWarns() throws {
        let text = validConfig.replacingOccurrences(of: "url = \"ldaps://ldap.example.com\"",
                                                    with: "url = \"ldap://ldap.example.com\"\nallow_plaintext = true")
        let c = try parse(text)
        #expect(c.warnings.count == 1)
        #expect(c.warnings[0].contains("plaintext"))
    }

    @Test func failoverURLsAsAnArray() throws {
        let text = validConfig.replacingOccurrences(of: "url = \"ldaps://ldap.example.com\"",
                                                    with: "url = [\"ldaps://ldap1.example.com\", \"ldaps://ldap2.example.com\"]")
        #expect(try parse(text).directory.urls == ["ldaps://ldap1.example.com", "ldaps://ldap2.example.com"])
    }

    struct Bad: CustomStringConvertible, Sendable {
        var replace: String
        var with: String
        var line: Int?
        var key: String
        var message: String
        var description: String { "\(key): \(message)" }
    }

    static let badConfigs: [Bad] = [
        Bad(replace: "page_size = 500", with: "page_sise = 500", line: 7, key: "directory.page_sise", message: "unknown key"),
        Bad(replace: "page_size = 500", with: "page_size = \"500\"", line: 7, key: "directory.page_size", message: "expected an integer, found a string"),
        Bad(replace: "page_size = 500", with: "page_size = 0", line: 7, key: "directory.page_size", message: "must be between"),
        Bad(replace: "timeout = \"20s\"", with: "timeout = \"20 seconds\"", line: 8, key: "directory.timeout", message: "expected a duration"),
        Bad(replace: "timeout = \"20s\"", with: "timeout = 20", line: 8, key: "directory.timeout", message: "expected a string, found an integer"),
        Bad(replace: "bind_password_file = \"ldap-bind-password\"", with: "bind_password = \"hunter2\"", line: 5, key: "directory.bind_password", message: "never accepted inline"),
        Bad(replace: "flavor = \"openldap\"", with: "flavor = \"novell\"", line: 6, key: "directory.flavor", message: "must be one of"),
        Bad(replace: "url = \"ldaps://ldap.example.com\"", with: "url = \"ldap://ldap.example.com\"", line: 2, key: "directory.url", message: "plaintext"),
        Bad(replace: "url = \"ldaps://ldap.example.com\"", with: "url = \"http://ldap.example.com\"", line: 2, key: "directory.url", message: "must start with ldap://"),
        Bad(replace: "url = \"ldaps://ldap.example.com\"", with: "url = 389", line: 2, key: "directory.url", message: "expected a string or an array"),
        Bad(replace: "department = \"ou\"", with: "departmnt = \"ou\"", line: 11, key: "directory.attributes.departmnt", message: "unknown key"),
        Bad(replace: "department = \"ou\"", with: "department = \"o u\"", line: 11, key: "directory.attributes.department", message: "not an attribute name"),
        Bad(replace: "scope = \"sub\"", with: "scope = \"subtree\"", line: 16, key: "directory.users[0].scope", message: "must be one of"),
        Bad(replace: "filter = \"(objectClass=inetOrgPerson)\"", with: "filter = \"(objectClass=inetOrgPerson\"", line: 17, key: "directory.users[0].filter", message: "not a valid LDAP filter"),
        Bad(replace: "base = \"ou=contractors,dc=example,dc=com\"", with: "base = \"not a dn\"", line: 21, key: "directory.users[1].base", message: "not a valid DN"),
        Bad(replace: "name = \"contractors\"", with: "name = \"staff\"", line: 20, key: "directory.users[1].name", message: "used twice"),
        Bad(replace: "nested = true", with: "nested = \"yes\"", line: 26, key: "directory.groups.nested", message: "expected a boolean"),
        Bad(replace: "leavers_base = \"ou=leavers,dc=example,dc=com\"", with: "leaver_base = \"ou=leavers,dc=example,dc=com\"", line: 30, key: "directory.leavers.leaver_base", message: "unknown key"),
        Bad(replace: "role = \"Administrator\"", with: "role = \"Owner\"", line: 34, key: "roles[0].role", message: "unknown role"),
        Bad(replace: "brand = \"Brand A\"", with: "brand = \"\"", line: 39, key: "roles[1].brand", message: "must not be empty"),
        Bad(replace: "brand = \"Brand A\"", with: "brandname = \"Brand A\"", line: 39, key: "roles[1].brandname", message: "unknown key"),
        Bad(replace: "service_password_file = \"mixerai-password\"", with: "service_password = \"pw\"", line: 46, key: "mixerai.service_password", message: "never accepted inline"),
        Bad(replace: "url = \"https://mixerai.example.com\"", with: "url = \"http://mixerai.example.com\"", line: 42, key: "mixerai.url", message: "plaintext HTTP"),
        Bad(replace: "service_email = \"mixer-sync@example.com\"", with: "service_email = \"mixer-sync\"", line: 45, key: "mixerai.service_email", message: "not an email"),
        Bad(replace: "max_deactivations = 10", with: "max_deactivations = -1", line: 50, key: "policy.max_deactivations", message: "must be between"),
        Bad(replace: "max_deactivations = 10", with: "max_deactivation = 10", line: 50, key: "policy.max_deactivation", message: "unknown key"),
        Bad(replace: "protected = [\"BreakGlass@Example.com\"]", with: "protected = \"BreakGlass@Example.com\"", line: 49, key: "policy.protected", message: "expected an array of strings"),
        Bad(replace: "formats = [\"json\", \"html\"]", with: "formats = [\"json\", \"pdf\"]", line: 56, key: "report.formats", message: "unknown format"),
        Bad(replace: "change_feed = \"syncrepl\"", with: "change_feed = \"polling\"", line: 61, key: "daemon.change_feed", message: "must be one of"),
        Bad(replace: "[daemon]", with: "[deamon]", line: 59, key: "deamon", message: "unknown key"),
        Bad(replace: "bind_dn = \"cn=mixer-sync,ou=services,dc=example,dc=com\"", with: "", line: nil, key: "directory.bind_dn", message: "required for a simple bind"),
    ]

    @Test(arguments: badConfigs)
    func rejectsMistakesWithLineAndKey(bad: Bad) {
        #expect(validConfig.contains(bad.replace), "fixture out of date: \(bad.replace)")
        let text = validConfig.replacingOccurrences(of: bad.replace, with: bad.with)
        do {
            _ = try parse(text)
            Issue.record("accepted: \(bad.with)")
        } catch let error as ConfigError {
            #expect(error.key == bad.key)
            if let line = bad.line { #expect(error.line == line, "\(error)") }
            #expect(error.message.contains(bad.message), "\(error)")
            #expect(error.description.hasPrefix("test.toml:"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func syntaxErrorsCarryTheLine() {
        let text = validConfig.replacingOccurrences(of: "page_size = 500", with: "page_size = = 500")
        #expect(throws: ConfigError.self) { try parse(text) }
        do { _ = try parse(text) } catch let error as ConfigError {
            #expect(error.line == 7)
            #expect(error.message.contains("TOML syntax"))
        } catch {}
    }

    /// TOMLKit's toml++ aborts (an assertion) on these instead of reporting them: they must be refused first.
    @Test(arguments: ["[%daemon]", "[[@roles]]", "[ $policy ]", "[[ !roles]]", "[\u{65B}daemon]", "[é]"])
    func tableHeadersTomlxxWouldAbortOnAreErrors(header: String) {
        let text = validConfig.replacingOccurrences(of: "[daemon]", with: header)
        do {
            _ = try parse(text)
            Issue.record("accepted \(header)")
        } catch let error as ConfigError {
            #expect(error.line == 59, "\(error)")
            #expect(error.message.contains("table header"))
        } catch { Issue.record("\(error)") }
    }

    @Test func headersInsideStringsAndArraysAreNotHeaders() throws {
        #expect(TOMLPrecheck.badTableHeader("a = \"\"\"\n[%not a header]\n\"\"\"\nb = [\n  [1, 2],\n  {x = 1},\n]\n# [%comment]\n[ok]\n[\"quoted\"]\n") == nil)
        #expect(TOMLPrecheck.badTableHeader("x = 1\n\n  [[%bad]]\n")?.line == 3)
        #expect(TOMLPrecheck.badTableHeader("\u{FEFF}[\\bad]\n")?.line == 1, "after a byte-order mark")
    }

    @Test func directorySectionIsRequired() {
        #expect(throws: ConfigError.self) { try parse("[policy]\nmin_admins = 1\n") }
    }

    @Test func secretValuesNeverAppearInErrors() {
        let text = validConfig.replacingOccurrences(of: "bind_password_file = \"ldap-bind-password\"",
                                                    with: "bind_password = \"hunter2-canary\"")
        do { _ = try parse(text) } catch {
            #expect(!"\(error)".contains("hunter2-canary"))
        }
    }

    @Test(arguments: [("30s", 30_000), ("15m", 900_000), ("24h", 86_400_000), ("500ms", 500), ("2d", 172_800_000)])
    func durations(text: String, ms: Int64) {
        #expect(DurationText.parse(text) == .milliseconds(ms))
    }

    @Test(arguments: ["", "s", "10", "-5s", "1.5h", "10 m", "0s"])
    func badDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}
