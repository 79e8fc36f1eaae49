// swift-tools-version: 6.1
// Micro-benchmarks for Lifeboat (ordo-one/benchmark). A separate package so the main
// package never pays for building the benchmark library. Run from this directory:
//   swift package benchmark
import PackageDescription

let package = Package(
    name: "LifeboatBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency's identity is otherwise its directory name (the worktree).
        .package(name: "Lifeboat", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "LifeboatBenchmarks",
            dependencies: [
                .product(name: "LifeboatCore", package: "Lifeboat"),
                .product(name: "LifeboatRepository", package: "Lifeboat"),
                .product(name: "LifeboatArchive", package: "Lifeboat"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LifeboatBenchmarks",
            // Swift 5 mode: benchmark closures share non-Sendable contexts (Cipher, ZstdCompressor) by design.
            swiftSettings: [.swiftLanguageMode(.v5)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
