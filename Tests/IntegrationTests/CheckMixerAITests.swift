import Foundation
import Sandbox
import Testing
import TestSupport

/// `mixer-sync check-mixerai` end to end: the binary, a config with `[mixerai]`, a running sandbox.
@Suite struct CheckMixerAITests {
    func config(port: Int, email: String, passwordFile: String) throws -> String {
        let mixerai = """

        [mixerai]
        url = "http://127.0.0.1:\(port)"
        supabase_url = "http://127.0.0.1:\(port)"
        supabase_anon_key = "sandbox-anon-key"
        supabase_project_ref = "sandbox"
        service_email = "\(email)"
        service_password_file = "\(passwordFile)"
        """
        let path = try CommandLineTests.writeConfig(extra: mixerai)
        let folder = (path as NSString).deletingLastPathComponent
        try "sandbox-password\n".write(toFile: folder + "/good-password", atomically: true, encoding: .utf8)
        try "half-admin-password\n".write(toFile: folder + "/half-password", atomically: true, encoding: .utf8)
        return path
    }

    @Test func signsInChecksRightsAndCounts() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let run = try CommandLineTests.run(["check-mixerai", "--json", "--config",
                                            try config(port: sandbox.port, email: "mixer-sync@example.com",
                                                       passwordFile: "good-password")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["users"] as? Int == 9)
        #expect(run.json?["brands"] as? Int == 3)
        let log = try sandbox.hook("GET", "requests")["requests"]?.array ?? []
        #expect(log.allSatisfy { $0["method"] == "GET" || $0["path"] == "/auth/v1/token" }, "no writes")
    }

    @Test func aHalfAdminIsRefusedClearly() throws {
        let sandbox = try SandboxProcess()
        defer { sandbox.stop() }
        let run = try CommandLineTests.run(["check-mixerai", "--config",
                                            try config(port: sandbox.port, email: "app-admin-only@example.com",
                                                       passwordFile: "half-password")])
        #expect(run.status == 1)
        #expect(run.stderr.contains("user_metadata.role"))
        #expect(!run.stderr.contains("half-admin-password"))
    }
}
