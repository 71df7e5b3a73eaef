// swift-tools-version:6.1
import PackageDescription

/// lookout's microbenchmarks: `swift run -c release --package-path Benchmarks lookout-bench [FILTER]`.
/// Time per operation and heap allocations per operation (counted by malloc-interposer).
let package = Package(
    name: "lookout-benchmarks",
    dependencies: [
        .package(name: "lookout", path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1"),
    ],
    targets: [
        .executableTarget(
            name: "lookout-bench",
            dependencies: [
                .product(name: "LookoutKit", package: "lookout"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            // A single-threaded measuring tool: Swift 5 mode spares it global-state ceremony.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        /// The stack sampling engine on its own, ticking like the sampler: what Benchmarks/stacks
        /// measures against `perf record`.
        .executableTarget(
            name: "lookout-stacks",
            dependencies: [.product(name: "LookoutStacks", package: "lookout")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
