// swift-tools-version:6.1
import PackageDescription

/// lookout: a sidecar observability agent for Linux.
///
/// The targets follow the data (README, "Layout"): read (/proc → ProcFS, perf_event →
/// Stacks, HTTP targets → HTTPClient → Probing), aggregate (Sampling, Profiles), export
/// (Series → Exposition → Server), evaluate (PromQL → Rules) and send (Notify,
/// RemoteWrite, both on HTTPClient). LookoutCore, Config and GoFormat serve every stage;
/// Agent wires them into one ServiceGroup; `lookout` is the command line. C lives in
/// C-named targets behind typed wrappers.
let package = Package(
    name: "lookout",
    products: [
        .executable(name: "lookout", targets: ["lookout"]),
        // For Benchmarks/ (a separate package, so `make test` never builds it).
        .library(
            name: "LookoutKit",
            targets: [
                "LookoutCore", "Config", "GoFormat", "Series", "ProcFS", "Sampling", "Stacks", "Profiles", "Exposition",
                "Server", "HTTPClient", "Probing", "PromQL", "Rules", "Notify", "RemoteWrite", "Agent",
            ]),
        // The stack sampling engine alone, for Benchmarks/stacks (a release build of it needs nothing else).
        .library(name: "LookoutStacks", targets: ["Stacks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: C

        /// libcurl, loaded with dlopen on the first request (an agent that sends none never maps
        /// it nor the libraries it needs): typed wrappers for every call, the variadic ones included.
        .target(name: "CCurl"),
        /// libyaml's event parser, under the YAML reader in Config.
        .target(
            name: "CYAML",
            linkerSettings: [.linkedLibrary("yaml")]
        ),
        /// protoc-c output for metrics.proto, profile.proto and remote_write's remote.proto and
        /// types.proto (see Sources/CProtobuf/regenerate.sh).
        .target(
            name: "CProtobuf",
            exclude: ["regenerate.sh", "proto"],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        /// Google RE2 (C++) behind a C surface: linear-time regexes in Go's syntax.
        .target(
            name: "CRE2",
            linkerSettings: [.linkedLibrary("re2"), .linkedLibrary("stdc++")]
        ),
        /// Stack profiling in C: perf_event_open and its ring buffer, libelf, libdw (line
        /// tables, CFI unwinding), C++ and Swift demangling.
        .target(
            name: "CStacks",
            linkerSettings: [.linkedLibrary("dw"), .linkedLibrary("elf"), .linkedLibrary("stdc++")]
        ),
        /// Snappy block compression (Debian's libsnappy, its C API) for remote_write.
        .target(
            name: "CSnappy",
            linkerSettings: [.linkedLibrary("snappy")]
        ),
        /// Small C helpers: zlib streams, crypt(3) for bcrypt, HMAC-SHA256 (libcrypto, loaded on first use), syscalls.
        .target(
            name: "CLookout",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("crypt")]
        ),

        // MARK: Swift, in pipeline order (a module imports only modules above it)

        // MARK: Shared by every stage: primitives, settings, Go's formats, the series model

        /// Shared primitives: clocks, durations, diagnostics with file:line:col, file I/O, wake signals,
        /// logfmt, the regex wrapper (over RE2), JSON, Base64, the loop every long-running service runs.
        .target(
            name: "LookoutCore",
            dependencies: [
                "CRE2", "CLookout",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// Settings files: strict YAML over libyaml with typed accessors that report FILE:LINE:COL;
        /// secrets and the one HTTP client config (auth, TLS, headers, timeouts, redirects) every client takes.
        .target(name: "Config", dependencies: ["LookoutCore", "CYAML", "CCurl"]),
        /// What Go prints and reads, for texts that must match Prometheus': quoting and string
        /// literals, float formatting, printf, humanize, text/template.
        .target(name: "GoFormat", dependencies: ["LookoutCore"]),
        /// The series model: labels, families, the registry that merges every source (and counts
        /// what it drops), label matchers, the alert value rules hand the notifier.
        .target(
            name: "Series",
            dependencies: ["LookoutCore", "GoFormat", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Read and aggregate: /proc and perf_event stacks

        /// One type per /proc or /sys file; pure parsers over bytes, an injectable root.
        .target(name: "ProcFS", dependencies: ["CLookout"]),
        /// The fixed-frequency /proc sampler: deltas, utilization histograms, peaks.
        .target(
            name: "Sampling",
            dependencies: [
                "LookoutCore", "Config", "ProcFS", "Series", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// perf_event stack sampling: ring buffers, frame-pointer and DWARF unwinding,
        /// symbolization (ELF, build-id, debuglink, kallsyms, perf maps), stack aggregates.
        .target(name: "Stacks", dependencies: ["LookoutCore", "CStacks"]),
        /// pprof profiles aggregated per stack from the sampler's thread samples.
        .target(
            name: "Profiles",
            dependencies: [
                "LookoutCore", "ProcFS", "Sampling", "Series", "Stacks", "CProtobuf", "CLookout",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Export: encoders and the HTTP server

        /// The exposition formats: text 0.0.4, OpenMetrics 1.0, protobuf, content negotiation; the scrape parser.
        .target(name: "Exposition", dependencies: ["GoFormat", "Series", "CProtobuf", "CLookout"]),
        /// The HTTP server: NIO, a small router, limits, auth; a service that drains on graceful shutdown.
        .target(
            name: "Server",
            dependencies: [
                "LookoutCore", "Config", "CLookout",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Read: HTTP targets (and the client every outgoing request takes)

        /// The HTTP client every outgoing request takes: libcurl's multi interface on a thread of
        /// its own, requests made from the one client config, responses with phase timings.
        .target(name: "HTTPClient", dependencies: ["LookoutCore", "Config", "CCurl"]),
        /// Health probes and scrapes of HTTP targets, circuit breakers.
        .target(
            name: "Probing",
            dependencies: [
                "LookoutCore", "Config", "GoFormat", "HTTPClient", "Series", "Exposition",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Evaluate

        /// The PromQL subset: lexer, parser, evaluator, bounded history.
        .target(name: "PromQL", dependencies: ["LookoutCore", "GoFormat", "Series"]),
        /// Prometheus rule files, alert state; one round of alerts (firing, resolved) per evaluation.
        .target(
            name: "Rules",
            dependencies: [
                "LookoutCore", "Config", "GoFormat", "Series", "PromQL",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Send

        /// Webhooks (Alertmanager payload v4), Alertmanager push, grouping, inhibition, durable outbox.
        .target(
            name: "Notify",
            dependencies: [
                "LookoutCore", "Config", "GoFormat", "Series", "HTTPClient", "CLookout",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// Prometheus remote_write: snapshots of the agent's series into a durable WAL, read by
        /// one queue per endpoint, sent as snappy-compressed protobuf with retries.
        .target(
            name: "RemoteWrite",
            dependencies: [
                "LookoutCore", "Config", "Series", "GoFormat", "Exposition", "HTTPClient", "CProtobuf", "CSnappy", "CLookout",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Wiring

        /// Composition root: configuration → services → one ServiceGroup.
        .target(
            name: "Agent",
            dependencies: [
                "LookoutCore", "Config", "GoFormat", "ProcFS", "Sampling", "Series", "Exposition", "HTTPClient", "Probing", "Rules",
                "Notify",
                "Profiles", "RemoteWrite", "Server",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.embedInCode("Resources/lookout.rules.yml")]
        ),
        /// The command line, and the rule unit test runner behind `lookout test-rules`.
        .executableTarget(
            name: "lookout",
            dependencies: [
                "Agent", "LookoutCore", "Config", "GoFormat", "Series", "Probing", "Profiles", "PromQL", "Rules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The release binary maps fewer pages: lld packs its 1.6 MB of relative relocations
            // into a few KiB (DT_RELR, glibc 2.36+), and no symbol is exported to the dynamic
            // table (the static Swift runtime's link arguments export every one, 2 MB of tables
            // and relocations nothing looks up). .symtab stays for symbolizing the agent itself.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                    .when(configuration: .release))
            ]
        ),

        // MARK: Tests (one folder per module, plus integration tests with real servers)

        /// C only tests use: per-thread setresuid, gettid, gunzip, bcrypt hashes.
        .target(
            name: "CTestSupport", path: "Tests/CTestSupport",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("crypt")]),
        .target(
            name: "TestSupport", dependencies: ["LookoutCore", "CCurl", "CTestSupport"], path: "Tests/TestSupport",
            exclude: ["testserver.py"]),
        .testTarget(name: "LookoutCoreTests", dependencies: ["LookoutCore", "GoFormat", "TestSupport"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "LookoutCore", "TestSupport"]),
        .testTarget(name: "GoFormatTests", dependencies: ["GoFormat"]),
        .testTarget(
            name: "SeriesTests",
            dependencies: [
                "Series", "Exposition", "LookoutCore", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "ProcFSTests", dependencies: ["ProcFS", "TestSupport"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "Series", "CProtobuf", "TestSupport"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "ProcFS", "Series", "Exposition", "Config", "TestSupport"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "Config", "LookoutCore", "TestSupport"]),
        .testTarget(name: "ProbingTests", dependencies: ["Probing", "HTTPClient", "Config", "Series", "Exposition", "TestSupport"]),
        .testTarget(
            name: "PromQLTests", dependencies: ["PromQL", "Series", "GoFormat", "LookoutCore", "TestSupport"],
            exclude: ["promql-testdata"]),
        .testTarget(
            name: "RulesTests", dependencies: ["Rules", "PromQL", "Series", "TestSupport"], exclude: ["testdata"]),
        .testTarget(name: "NotifyTests", dependencies: ["Notify", "HTTPClient", "Config", "Series", "TestSupport"]),
        .testTarget(
            name: "ProfilesTests",
            dependencies: ["Profiles", "Sampling", "ProcFS", "Series", "LookoutCore", "CProtobuf", "TestSupport"]),
        .testTarget(
            name: "StacksTests",
            dependencies: ["Stacks", "Profiles", "CProtobuf", "CTestSupport", "LookoutCore", "TestSupport"]),
        .testTarget(
            name: "RemoteWriteTests",
            dependencies: ["RemoteWrite", "Series", "LookoutCore", "Config", "HTTPClient", "CProtobuf", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]),
        .testTarget(name: "LookoutTests", dependencies: ["lookout", "LookoutCore", "TestSupport"]),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "HTTPClient", "Probing", "Rules", "Sampling", "Series", "Exposition", "LookoutCore", "ProcFS",
                "TestSupport",
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Series", "Exposition", "LookoutCore", "Notify", "TestSupport"]
        ),
    ]
)
