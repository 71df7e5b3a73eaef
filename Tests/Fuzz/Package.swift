// swift-tools-version:6.1
import PackageDescription

/// libFuzzer targets for lookout's parsers. Built and run by ./run (not part of `make test`).
///
/// The main package is reached through the `lookout` symlink (→ ../..): SwiftPM names a path
/// dependency after its directory, so a checkout in a directory called `fuzz` would clash
/// with this package's own name.
let fuzzTargets = [
    "fuzz-exposition",
    "fuzz-procfs",
    "fuzz-promql",
    "fuzz-config",
    "fuzz-http",
]

/// Targets that drive NIO channels directly (the HTTP server's connection handling).
let nioTargets: Set<String> = ["fuzz-http"]

let package = Package(
    name: "lookout-fuzz",
    dependencies: [
        .package(path: "lookout"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport", .product(name: "LookoutKit", package: "lookout")]
                    + (nioTargets.contains(name)
                        ? [
                            .product(name: "NIOCore", package: "swift-nio"),
                            .product(name: "NIOEmbedded", package: "swift-nio"),
                            .product(name: "Logging", package: "swift-log"),
                        ] : []),
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        }
)
