// swift-tools-version:6.1
import PackageDescription

/// libFuzzer targets for lookout's parsers. Built and run by ./run (not part of `make test`).
let package = Package(
    name: "lookout-fuzz",
    dependencies: [.package(name: "lookout", path: "../..")],
    targets: [
        .executableTarget(
            name: "fuzz-config",
            dependencies: [.product(name: "LookoutKit", package: "lookout")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
