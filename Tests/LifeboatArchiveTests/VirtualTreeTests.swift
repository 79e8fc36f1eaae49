#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

/// Snapshots of in-memory and streamed files (the Kubernetes and etcd sources).
@Suite struct VirtualTreeTests {
    let temp: TemporaryDirectory
    let repository: Repository

    init() async throws {
        temp = try TemporaryDirectory()
        repository = try await Repository.initialize(backend: LocalBackend(path: temp.child("repo").display),
                                                     password: Array("pw".utf8),
                                                     chunkerPolynomial: Polynomial(hex: "2e40c93f1b05e1"))
    }

    func backup(_ produce: @escaping @Sendable (VirtualTreeWriter) throws -> Void) async throws -> VirtualBackupResult {
        var options = VirtualSnapshotOptions(paths: ["/kubernetes/test"])
        options.tags = ["k8s"]
        return try await backupVirtualTree(repository: repository, index: try await repository.loadIndex(),
                                           options: options, produce: produce)
    }

    func restored(_ id: ID) async throws -> RawPath {
        let snapshot = try await repository.loadSnapshot(id)
        let target = temp.child("restore-\(id.hex.prefix(8))")
        var options = RestoreOptions(target: target.display)
        options.verify = true
        _ = try await Restorer(repository: repository, index: try await repository.loadIndex())
            .restore(tree: snapshot.tree, options: options)
        return target
    }

    @Test func filesAndStreamsRestoreExactlyAndDedup() async throws {
        var random = SeededBytes(seed: 7)
        let big = random.bytes(5_000_000)
        let documents = (0..<200).map { i in (i, Array("{\"kind\":\"ConfigMap\",\"name\":\"cm-\(i)\"}".utf8)) }
        let result = try await backup { writer in
            // Several threads at once, as a Kubernetes backup lists resources concurrently.
            DispatchConcurrent.run(4) { worker in
                for (i, doc) in documents where i % 4 == worker {
                    try! writer.addFile(["kubernetes", "test", "namespaces", "ns\(i % 3)", "cm-\(i).json"], contents: doc)
                }
            }
            // A stream in odd-sized pieces, as an HTTP body arrives.
            let size = try writer.addStream(["etcd", "snapshot.db"]) { write in
                var offset = 0
                for piece in [1, 4095, 1_000_003, 7, 65_536].cycled(until: big.count) {
                    let n = min(piece, big.count - offset)
                    try big[offset..<offset + n].withUnsafeBytes { try write($0) }
                    offset += n
                    if offset == big.count { break }
                }
            }
            #expect(size == UInt64(big.count))
        }
        let id = try #require(result.snapshotID)
        #expect(result.files == 201)
        #expect(result.snapshot.paths == ["/kubernetes/test"])
        #expect(result.snapshot.tags == ["k8s"])

        let target = try await restored(id)
        #expect(try readFile(target.appending(component: Array("etcd".utf8)).appending(component: Array("snapshot.db".utf8))) == big)
        for (i, doc) in documents {
            let path = ["kubernetes", "test", "namespaces", "ns\(i % 3)", "cm-\(i).json"].reduce(target) { $0.appending(component: Array($1.utf8)) }
            #expect(try readFile(path) == doc)
        }

        // The same content again adds no data blobs (trees differ only by times).
        let again = try await backup { writer in
            try writer.addFile(["etcd", "snapshot.db"], contents: big)
        }
        #expect(again.saved.dataBlobs == 0)
        // Chunk boundaries do not depend on how the stream was split.
        #expect(try await repository.loadIndex().count >= 5)
    }

    @Test func aFailingProducerCommitsNoSnapshot() async throws {
        struct Cut: Error {}
        await #expect(throws: Cut.self) {
            _ = try await backup { writer in
                try writer.addFile(["a.json"], contents: Array("{}".utf8))
                try writer.addStream(["etcd.db"]) { write in
                    try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try write($0) }
                    throw Cut()
                }
            }
        }
        #expect(try await repository.snapshots().isEmpty)
    }

    @Test func invalidAndDuplicatePathsAreRejected() async throws {
        for bad in [[String](), ["..", "x"], ["a/b"], [""]] {
            await #expect(throws: LifeboatError.self) {
                _ = try await backup { try $0.addFile(bad, contents: [1]) }
            }
        }
        await #expect(throws: LifeboatError.self) {
            _ = try await backup { writer in
                try writer.addFile(["a", "b"], contents: [1])
                try writer.addFile(["a", "b"], contents: [2])
            }
        }
        await #expect(throws: LifeboatError.self) {
            _ = try await backup { writer in
                try writer.addFile(["a"], contents: [1])
                try writer.addFile(["a", "b"], contents: [2])
            }
        }
    }
}

private extension Array where Element == Int {
    /// Repeats the pattern until its sum reaches `total`.
    func cycled(until total: Int) -> [Int] {
        var out: [Int] = []
        var sum = 0
        while sum < total { for n in self { out.append(n); sum += n } }
        return out
    }
}

/// Runs `count` copies of `body` on their own threads and waits for all.
enum DispatchConcurrent {
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let threads = (0..<count).map { i in PipelineThread { body(i) } }
        for thread in threads { thread.join() }
    }
}
