// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Lifeboat",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LifeboatCore", targets: ["LifeboatCore"]),
        .library(name: "LifeboatRepository", targets: ["LifeboatRepository"]),
        .library(name: "LifeboatArchive", targets: ["LifeboatArchive"]),
        .library(name: "LifeboatHTTP", targets: ["LifeboatHTTP"]),
        .library(name: "LifeboatS3", targets: ["LifeboatS3"]),
        .library(name: "LifeboatEtcd", targets: ["LifeboatEtcd"]),
        .library(name: "LifeboatKubernetes", targets: ["LifeboatKubernetes"]),
        .executable(name: "lifeboat", targets: ["lifeboat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, bound through pkg-config; shim.h holds static inline wrappers
        // for what Swift cannot call directly (macros, variadics).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libcurl's headers only: the library is opened with dlopen when an HTTP client is first
        // made (see shim.h), so pkg-config's -lcurl is not wanted.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // __builtin_prefetch for the index's batched lookups (header only).
        .systemLibrary(name: "CPrefetch"),
        // scrypt's ROMix with SSE2 intrinsics (header only).
        .systemLibrary(name: "CScrypt"),
        // mremap for chunk buffers that grow without copying (header only).
        .systemLibrary(name: "CMemory"),

        // IDs, crypto, compression, chunking, JSON: no file or network I/O.
        .target(name: "LifeboatCore", dependencies: ["CZstd", "COpenSSL", "CScrypt"], swiftSettings: strict),
        // HTTP(S) over libcurl: pooled connections, TLS options, streamed bodies.
        .target(name: "LifeboatHTTP", dependencies: ["LifeboatCore", "CCurl"], swiftSettings: strict),
        // The restic v2 format, backends, and the repository (index, packer, blob store).
        .target(name: "LifeboatRepository", dependencies: ["LifeboatCore", "CPrefetch"], swiftSettings: strict),
        // File-tree backup and restore.
        .target(name: "LifeboatArchive", dependencies: ["LifeboatCore", "LifeboatRepository", "CMemory"], swiftSettings: strict),
        // Retention policies, holds, prune, repair: repository maintenance.
        .target(name: "LifeboatMaintenance", dependencies: ["LifeboatCore", "LifeboatRepository"], swiftSettings: strict),
        // S3-compatible object storage: SigV4, the S3 backend, the local metadata cache.
        .target(name: "LifeboatS3", dependencies: ["LifeboatCore", "LifeboatHTTP", "LifeboatRepository", "COpenSSL"], swiftSettings: strict),
        // etcd snapshots over the v3 JSON gateway, streamed into the repository.
        .target(name: "LifeboatEtcd", dependencies: ["LifeboatCore", "LifeboatHTTP", "LifeboatRepository", "LifeboatArchive"], swiftSettings: strict),
        // Kubernetes: kubeconfig, discovery, filtered collection, restore planning and apply.
        .target(name: "LifeboatKubernetes",
                dependencies: ["LifeboatCore", "LifeboatHTTP", "LifeboatRepository", "LifeboatArchive",
                               .product(name: "Yams", package: "Yams")],
                swiftSettings: strict),
        .executableTarget(
            name: "lifeboat",
            dependencies: [
                "LifeboatCore", "LifeboatRepository", "LifeboatArchive", "LifeboatHTTP", "LifeboatS3", "LifeboatEtcd", "LifeboatMaintenance",
                "LifeboatKubernetes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        .testTarget(name: "LifeboatCoreTests", dependencies: ["LifeboatCore"], swiftSettings: strict),
        .testTarget(name: "LifeboatRepositoryTests", dependencies: ["LifeboatCore", "LifeboatRepository"], swiftSettings: strict),
        .testTarget(name: "LifeboatArchiveTests", dependencies: ["LifeboatCore", "LifeboatRepository", "LifeboatArchive"], swiftSettings: strict),
        .testTarget(name: "LifeboatHTTPTests", dependencies: ["LifeboatCore", "LifeboatHTTP"], swiftSettings: strict),
        .testTarget(name: "LifeboatMaintenanceTests", dependencies: ["LifeboatCore", "LifeboatRepository", "LifeboatArchive", "LifeboatMaintenance"], swiftSettings: strict),
        .testTarget(name: "LifeboatEtcdTests", dependencies: ["LifeboatCore", "LifeboatEtcd"], swiftSettings: strict),
        .testTarget(name: "LifeboatKubernetesTests",
                    dependencies: ["LifeboatCore", "LifeboatRepository", "LifeboatArchive", "LifeboatHTTP", "LifeboatKubernetes"],
                    exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "LifeboatIntegrationTests", dependencies: ["LifeboatCore", "LifeboatRepository", "LifeboatArchive", "LifeboatHTTP", "LifeboatS3"],
                    exclude: ["Support/s3_fault_proxy.py"], swiftSettings: strict),
        .testTarget(name: "LifeboatS3Tests", dependencies: ["LifeboatCore", "LifeboatHTTP", "LifeboatRepository", "LifeboatS3"], swiftSettings: strict),
    ]
)
