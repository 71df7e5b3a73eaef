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
]

let package = Package(
    name: "lookout-fuzz",
    dependencies: [.package(path: "lookout")],
    targets: [
        .target(name: "FuzzSupport"),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport", .product(name: "LookoutKit", package: "lookout")],
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        }
)
