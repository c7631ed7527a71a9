import CLDAP
import Config
import Foundation
import LDAPClient
import MixerAI
import SCIM

/// libFuzzer targets for what reads untrusted text: the RFC 4515 filter escaper and the RFC 4514 DN escaper (with
/// their properties), the configuration parser, MixerAI's JSON list pages, and the Retry-After and rate-limit
/// headers. One binary; `MIXER_SYNC_FUZZ_TARGET` picks the target. Built with `-sanitize=fuzzer,address -DFUZZING`
/// by scripts/fuzz; a plain build (the tests' `swift build`) makes a replayer that runs the files it is given.
enum FuzzTargets {
    static let names = ["filter", "dn", "config", "json", "retry-after", "rate-limit", "scim-filter", "scim-patch"]

    static func run(_ target: String, _ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        switch target {
        case "filter": filter(text)
        case "dn": dn(text)
        case "config": if let source = String(validating: data, as: UTF8.self) { config(source) }  // as ConfigLoader.load
        case "json": _ = MixerAIClient.decodePage(Data(data))
        case "retry-after": retryAfter(text)
        case "rate-limit": rateLimit(text)
        case "scim-filter": scimFilter(text)
        case "scim-patch": scimPatch(Data(data))
        default: fatalError("unknown fuzz target \(target); one of \(names.joined(separator: ", "))")
        }
    }

    /// No special survives unescaped: `*`, `(`, `)`, NUL never appear raw, every `\` starts a two-digit hex escape,
    /// and unescaping gives the value back.
    static func filter(_ value: String) {
        let escaped = Array(LDAPFilter.escape(value).utf8)
        var i = 0
        var back: [UInt8] = []
        while i < escaped.count {
            let c = escaped[i]
            precondition(c != 0x2A && c != 0x28 && c != 0x29 && c != 0, "raw special \(c) in \(escaped)")
            if c == 0x5C {
                precondition(i + 2 < escaped.count, "a backslash without two hex digits")
                let hex = String(decoding: escaped[(i + 1)...(i + 2)], as: UTF8.self)
                guard let byte = UInt8(hex, radix: 16) else { preconditionFailure("bad escape \\\(hex)") }
                back.append(byte)
                i += 3
            } else {
                back.append(c)
                i += 1
            }
        }
        precondition(back == Array(value.utf8), "escaping does not round-trip")
    }

    /// An escaped value in a DN comes back whole from our parser and from libldap's `ldap_str2dn`.
    static func dn(_ value: String) {
        guard !value.isEmpty else { return }
        let dn = DistinguishedName.child(type: "cn", value: value, of: "dc=example,dc=com")
        guard let parsed = DistinguishedName(dn) else { preconditionFailure("our parser refused \(dn)") }
        precondition(parsed.rdns.count == 3 && parsed.rdns[0].count == 1 && parsed.rdns[0][0].value == value,
                     "our parser read \(parsed.rdns) from \(dn)")
        var out: LDAPDN?
        let rc = ldap_str2dn(dn, &out, UInt32(LDAP_DN_FORMAT_LDAPV3))
        precondition(rc == LDAP_SUCCESS, "libldap refused \(dn): \(rc)")
        defer { ldap_dnfree(out) }
        guard let rdn = out?[0], let ava = rdn[0] else { preconditionFailure("libldap found no first RDN in \(dn)") }
        let bv = ava.pointee.la_value
        let bytes = Array(UnsafeRawBufferPointer(start: bv.bv_val, count: Int(bv.bv_len)))
        precondition(bytes == Array(value.utf8), "libldap read \(bytes) for \(Array(value.utf8))")
    }

    /// A SCIM filter (the IdP's `filter=`): parsed and evaluated, or refused as 400 `invalidFilter`; never a crash.
    static func scimFilter(_ text: String) {
        let user: JSON = ["userName": "ada@example.com", "active": true, "name": ["givenName": "Ada"],
                          "emails": [["value": "ada@example.com", "type": "work", "primary": true]],
                          "meta": ["lastModified": "2026-12-05T10:00:00Z"]]
        do {
            let filter = try FilterParser.parse(text)
            _ = try FilterEvaluator.matches(filter, user)
        } catch {
            precondition(error.status == 400 && !error.detail.isEmpty, "a filter error that is not a 400 with a detail: \(error)")
        }
    }

    /// A PATCH body against a stored user through the service: answered 200 (the user changed) or an error in
    /// SCIM's envelope that changed nothing; never a crash.
    static func scimPatch(_ body: Data) {
        let repo = InMemorySCIMRepository()
        let service = SCIMService(base: "https://bridge/scim/v2")
        let user: JSON = ["schemas": [.string(SCIMSchema.user), .string(SCIMSchema.enterpriseUser)], "userName": "ada@example.com",
                          "active": true, "emails": [["value": "ada@example.com", "type": "work"]],
                          SCIMSchema.enterpriseUser: ["department": "R&D"]]
        let created = service.handle(SCIMRequest(method: "POST", path: "/Users", body: user.encoded()), repo)
        guard let id = created.body?["id"]?.string else { preconditionFailure("the seed user was refused: \(created.status)") }
        let before = repo.stored[id]
        let r = service.handle(SCIMRequest(method: "PATCH", path: "/Users/" + id, body: body), repo)
        if r.status == 200 {
            precondition(r.body?["id"]?.string == id && repo.stored[id]?.version == 2, "a 200 that stored nothing")
        } else {
            precondition((400..<500).contains(r.status) && r.body?["status"]?.string == String(r.status), "not SCIM's envelope: \(r.status)")
            precondition(repo.stored[id] == before, "a refused PATCH changed the user")
        }
    }

    /// Rejected with a message and a line, or accepted whole; never a crash.
    static func config(_ text: String) {
        do {
            _ = try ConfigLoader.parse(source: text, file: "fuzz.toml", configDirectory: "/nonexistent", credentialsDirectory: nil)
        } catch let error as ConfigError {
            precondition(!error.message.isEmpty, "an error without a message")
        } catch {
            preconditionFailure("not a ConfigError: \(error)")
        }
    }

    static func retryAfter(_ text: String) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        if let seconds = RetryAfter.seconds(text, serverDate: now) {
            precondition(seconds >= 0 && seconds.isFinite, "Retry-After \(text) → \(seconds)")
        }
        _ = HTTPDate.parse(text)
    }

    static func rateLimit(_ text: String) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var budget = WriteBudget()
        budget.update(limit: parts.first, remaining: parts.dropFirst().first, reset: parts.dropFirst(2).first,
                      serverDate: parts.dropFirst(3).first.flatMap(HTTPDate.parse), now: now)
        let wait = budget.wait(now: now)
        precondition(wait >= 0 && wait.isFinite, "wait \(wait) from \(parts)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.run(FuzzEntry.target, Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

enum FuzzEntry {
    static let target = ProcessInfo.processInfo.environment["MIXER_SYNC_FUZZ_TARGET"] ?? "filter"
}

#if FUZZING
/// libFuzzer's driver, given our entry point (SwiftPM names an executable's entry `<module>_main`, so libFuzzer's own
/// `main` is not the one that runs).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@main struct Fuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv) { data, size in fuzzOne(data, size) })
    }
}
#else
/// Without libFuzzer: replays the files (or every file of the folders) given, through the target named in
/// MIXER_SYNC_FUZZ_TARGET, and says how many passed.
@main struct Replay {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                FuzzTargets.run(FuzzEntry.target, Array(data))
                count += 1
            }
        }
        print("\(FuzzEntry.target): \(count) inputs replayed, no failure")
    }
}
#endif
