// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "mixer-sync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mixer-sync", targets: ["mixer-sync"]),
        .executable(name: "mixerai-sandbox", targets: ["mixerai-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C interop: one system-library target per C library, each a modulemap + one shim.h.
        .systemLibrary(name: "CLDAP", pkgConfig: "ldap", providers: [.apt(["libldap-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Secrets from files or systemd credentials, redacted everywhere.
        .target(name: "Secrets"),
        // LDAP in Swift values; the only module that imports CLDAP.
        .target(name: "LDAPClient", dependencies: ["CLDAP"]),
        // HTTP over libcurl in Swift values; the only module that imports CCurl.
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        // MixerAI's web API: sign-in, CSRF, paging, the write budget, the calls; the only module that knows its wire format.
        .target(name: "MixerAI", dependencies: ["CurlHTTP", "Secrets"]),
        // SCIM 2.0's pure parts (RFC 7643/7644): filters, PATCH, the error envelope. No I/O.
        .target(name: "SCIM", dependencies: ["Reconcile"]),
        // The pure core: no I/O, no C, no clock.
        .target(name: "Reconcile"),
        // Directory entries -> people (mapping, groups, nesting, leaver evidence).
        .target(name: "Directory", dependencies: ["LDAPClient", "Reconcile", "Secrets"]),
        // The TOML configuration file -> validated, typed settings.
        .target(name: "Config", dependencies: ["Directory", "Reconcile", "Secrets", "State", .product(name: "TOMLKit", package: "TOMLKit")]),
        // The state (links, ledger, journal of intents, gate history, approvals, runs, queue, bans) in SQLite or
        // PostgreSQL, and the leader's lease.
        .target(name: "State", dependencies: ["Reconcile", .product(name: "GRDB", package: "GRDB.swift"),
                                              .product(name: "PostgresNIO", package: "postgres-nio"),
                                              .product(name: "NIOCore", package: "swift-nio"),
                                              .product(name: "NIOPosix", package: "swift-nio"),
                                              .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                              .product(name: "Logging", package: "swift-log")]),
        // plan + outcome -> JSON / Markdown / HTML reports, written atomically with retention.
        .target(name: "Report", dependencies: ["Reconcile"]),
        // One reconcile run end to end: read both sides, recover the journal, plan, gate, apply, report.
        .target(name: "Daemon", dependencies: ["Config", "Directory", "LDAPClient", "MixerAI", "CurlHTTP", "Reconcile",
                                               "Report", "SCIM", "Secrets", "State",
                                               .product(name: "Hummingbird", package: "hummingbird"),
                                               .product(name: "HummingbirdCore", package: "hummingbird"),
                                               .product(name: "HummingbirdTLS", package: "hummingbird"),
                                               .product(name: "HTTPTypes", package: "swift-http-types"),
                                               .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                               .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                                               .product(name: "Logging", package: "swift-log"),
                                               .product(name: "Metrics", package: "swift-metrics"),
                                               .product(name: "Prometheus", package: "swift-prometheus")]),
        // The command line: parses arguments and prints; the work is the modules'.
        .executableTarget(name: "mixer-sync", dependencies: [
            "Config", "Daemon", "Directory", "LDAPClient", "Reconcile", "Report", "Secrets", "State", "MixerAI", "CurlHTTP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // A faithful emulator of MixerAI's user API (tests, demos, benchmarks): the logic, then the executable.
        .target(name: "Sandbox", dependencies: [
            "Reconcile",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "mixerai-sandbox", dependencies: [
            "Sandbox", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Drives the MixerAI client for Benchmarks/mixerai-client.sh.
        .executableTarget(name: "mixerai-bench", dependencies: ["MixerAI", "CurlHTTP", "Secrets"],
                          path: "Benchmarks/MixerAIBench"),

        // libFuzzer targets (scripts/fuzz builds them with -sanitize=fuzzer; a plain build replays a corpus).
        .executableTarget(name: "mixer-sync-fuzz", dependencies: ["CLDAP", "Config", "LDAPClient", "MixerAI", "SCIM"],
                          path: "Fuzz/Targets"),

        // The diff engine alone at 10k / 100k / 1M (Benchmarks/diff.sh).
        .executableTarget(name: "diff-bench", dependencies: ["Reconcile"], path: "Benchmarks/DiffBench"),

        // The journal's intent → confirm cycle on both state backends (Benchmarks/failover.sh).
        .executableTarget(name: "state-bench", dependencies: ["State", "Reconcile"], path: "Benchmarks/StateBench"),

        .testTarget(name: "SCIMTests", dependencies: ["SCIM", "Reconcile"]),
        .testTarget(name: "ReconcileTests", dependencies: ["Reconcile", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "StateTests", dependencies: ["State", "Reconcile", .product(name: "PostgresNIO", package: "postgres-nio"),
                                                      .product(name: "NIOPosix", package: "swift-nio"),
                                                      .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Reconcile"]),
        .testTarget(name: "LDAPClientTests", dependencies: ["LDAPClient", "CCurl"]),
        .testTarget(name: "DirectoryTests", dependencies: ["Directory", "LDAPClient", "Reconcile"]),
        // The run pipeline with in-memory fakes (directory, MixerAI, state): milliseconds, no server.
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Config", "MixerAI", "Reconcile", "Report", "State",
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Directory", "Secrets"]),
        // Test helpers: start a real mixerai-sandbox process, talk raw HTTP to it.
        .target(name: "TestSupport", dependencies: ["Sandbox"], path: "Tests/TestSupport"),
        // Tests that talk HTTP to a running mixerai-sandbox process.
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "TestSupport"]),
        // The MixerAI client (libcurl) against running sandboxes.
        .testTarget(name: "MixerAITests", dependencies: ["MixerAI", "CurlHTTP", "Secrets", "Sandbox", "TestSupport"]),
        // Tests against the real slapd that scripts/test starts; they fail (never skip) when it is absent.
        .testTarget(name: "IntegrationTests", dependencies: ["Config", "Directory", "LDAPClient", "Reconcile", "Secrets",
                                                            "Sandbox", "TestSupport", "Daemon", "MixerAI"]),
    ]
)
