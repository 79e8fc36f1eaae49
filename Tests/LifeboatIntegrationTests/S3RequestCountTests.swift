import Foundation
import Glibc
import LifeboatCore
import LifeboatHTTP
import LifeboatRepository
import LifeboatS3
import Testing

/// How many requests a backup costs, counted at a proxy in front of moto: one PUT per pack
/// plus a small fixed number per command (issue 4: ≤ 1.2 requests per pack on 1 GiB).
@Suite(.serialized) struct S3RequestCountTests {
    /// The fixed requests of a first backup into a fresh repository: GET config, LIST keys,
    /// GET key, LIST locks, PUT lock, one LIST of locks, index and snapshots (after the
    /// pause), PUT index, PUT snapshot, DELETE lock. Our own lock is never read back and
    /// nothing is HEADed.
    static let fixedPerBackup = 9

    @Test func backupCostsOnePutPerPackPlusFixed() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let proxy = try FaultProxy(upstream: moto, seed: 1, fraction: 0)
        defer { proxy.stop() }
        let work = try TempDir(prefix: "s3-count")
        defer { work.remove() }
        do {
            let lb = S3Lifeboat(endpoint: proxy.endpoint, bucket: "counted", prefix: "r", work: work)
            let src = work.sub("src")
            // Random data, so that the backup writes several data packs.
            try makeTree(at: src, seed: 11, files: 40, size: 1_000_000)
            try lb.check(["init"])
            let before = try proxy.stats()
            try lb.check(["backup", src])
            let after = try proxy.stats()
            func delta(_ kind: String) -> Int { (after.byKind[kind] ?? 0) - (before.byKind[kind] ?? 0) }
            let requests = after.requests - before.requests
            let packs = try moto.keys("counted", prefix: "r/data/").count
            #expect(packs >= 3, "expected several packs, got \(packs)")
            #expect(delta("PUT data") == packs, "\(after.byKind)")
            #expect(requests <= packs + Self.fixedPerBackup,
                    "a backup of \(packs) packs took \(requests) requests: \(after.byKind) (before: \(before.byKind))")
            #expect(delta("GET locks") == 0, "the backup read a lock file back: \(after.byKind)")
            #expect((after.byMethod["HEAD"] ?? 0) == (before.byMethod["HEAD"] ?? 0), "HEAD requests: \(after.byMethod)")
            #expect(delta("DELETE locks") == 1 && delta("PUT locks") == 1)
            #expect(delta("GET list") == 3, "LISTs: keys, locks, then locks+index+snapshots in one: \(after.byKind)")
            #expect(try moto.keys("counted", prefix: "r/locks/").isEmpty)

            // Fewer requests, same exclusion: a shared lock held by another live process does not
            // stop a backup, an exclusive one does, and the refused backup leaves no lock behind.
            let backend = try S3Backend.configure(lb.repository, extended: [], tls: TLSOptions(),
                                                  environment: { MotoServer.credentials[$0] })
            let repository = try await Repository.open(backend: backend, password: Array(lb.password.utf8))
            func plant(exclusive: Bool) async throws -> ID {
                let info = LockInfo(time: .now(), exclusive: exclusive, hostname: currentHostname(), username: "other", pid: getpid())
                return try await repository.saveUnpacked(.lock, json: info.encoded())
            }
            let shared = try await plant(exclusive: false)
            try lb.check(["backup", src])
            #expect(try moto.keys("counted", prefix: "r/locks/") == ["r/locks/\(shared.hex)"])
            try await backend.remove(FileHandle(.lock, shared))
            let exclusive = try await plant(exclusive: true)
            let snapshotsBefore = try moto.keys("counted", prefix: "r/snapshots/")
            let refused = try lb.run(["backup", src])
            #expect(refused.status == 11, "\(refused)")
            #expect(refused.err.contains("exclusive lock") && refused.err.contains("other@"), "\(refused)")
            #expect(try moto.keys("counted", prefix: "r/locks/") == ["r/locks/\(exclusive.hex)"])
            #expect(try moto.keys("counted", prefix: "r/snapshots/") == snapshotsBefore)
        }
    }
}
