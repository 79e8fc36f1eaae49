import Foundation
import Glibc
import Testing

/// lifeboat against moto_server on loopback: the S3 protocol for real, restic as the peer.
@Suite(.serialized) struct S3Tests {
    @Test func backupRestoreCheckAndResticInterop() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try withTempDir("s3-roundtrip") { work in
            try moto.createBucket("roundtrip")
            let lb = S3Lifeboat(endpoint: moto.endpoint, bucket: "roundtrip", prefix: "team/repo", work: work)
            let src = work.sub("src")
            try makeTree(at: src, seed: 1, files: 24, size: 150_000)
            try Data(count: 3_000_000).write(to: URL(fileURLWithPath: src + "/zeros"))
            try lb.check(["init"])
            try lb.check(["backup", src])
            try makeTree(at: src + "/more", seed: 2, files: 6, size: 80_000)
            try lb.check(["backup", src])
            #expect(try moto.keys("roundtrip").allSatisfy { $0.hasPrefix("team/repo/") })
            #expect(try moto.keys("roundtrip", prefix: "team/repo/data/").count >= 2)

            try lb.check(["restore", "latest", "--target", work.sub("out")])
            #expect(try treesMatch(src, work.sub("out") + src))
            let check = try lb.check(["check", "--read-data"])
            #expect(check.out.contains("no errors were found"))

            // restic reads what lifeboat wrote to the bucket.
            let resticCheck = try lb.restic(["check", "--read-data"])
            #expect(resticCheck.isSpotlessCheck, "\(resticCheck)")
            let resticRestore = try lb.restic(["restore", "latest", "--target", work.sub("restic-out")])
            #expect(resticRestore.status == 0, "\(resticRestore)")
            #expect(try treesMatch(src, work.sub("restic-out") + src))

            // lifeboat reads what restic wrote there.
            let theirs = S3Lifeboat(endpoint: moto.endpoint, bucket: "roundtrip", prefix: "restic-made", work: work)
            let theirSrc = work.sub("their-src")
            try makeTree(at: theirSrc, seed: 3, files: 10, size: 120_000)
            for args in [["init"], ["backup", theirSrc]] {
                let r = try theirs.restic(args)
                #expect(r.status == 0, "\(r)")
            }
            try theirs.check(["restore", "latest", "--target", work.sub("their-out")])
            #expect(try treesMatch(theirSrc, work.sub("their-out") + theirSrc))
            try theirs.check(["check", "--read-data"])
        }
    }

    /// Four processes back up into one repository at once, deduplicating against what an
    /// earlier backup stored: every snapshot restores, check is clean, no blob twice.
    @Test func fourConcurrentWriters() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try withTempDir("s3-concurrent") { work in
            let lb = S3Lifeboat(endpoint: moto.endpoint, bucket: "created-by-init", prefix: "", work: work)
            try lb.check(["init"])  // the bucket does not exist yet: init creates it
            let common = work.sub("common")
            try makeTree(at: common, seed: 99, files: 0, size: 100_000, shared: 3)
            try lb.check(["backup", "."], directory: common)

            var children: [(Spawned, String)] = []
            for n in 0..<4 {
                let tree = work.sub("tree\(n)")
                try makeTree(at: tree, seed: UInt64(10 + n), files: 8, size: 100_000, shared: 3)
                let child = try Spawned(try Locations.lifeboat(), ["backup", tree, "-r", lb.repository, "--json"],
                                        environment: lb.env, log: work.sub("err\(n)"), stdoutPath: work.sub("out\(n)"))
                children.append((child, tree))
            }
            for (child, tree) in children {
                #expect(child.wait() == 0, "backup of \(tree) failed: \(child.log)")
            }
            let snapshots = try lb.check(["snapshots", "--json"])
            let entries = try SnapshotList.entries(fromJSON: snapshots.stdout)
            #expect(entries.count == 5)
            for (_, tree) in children {
                let id = try #require(entries.first { $0.paths == [tree] }?.id, "no snapshot of \(tree)")
                let target = work.sub("restore-" + (tree as NSString).lastPathComponent)
                try lb.check(["restore", id, "--target", target])
                #expect(try treesMatch(tree, target + tree))
            }
            #expect(try lb.check(["check", "--read-data"]).out.contains("no errors were found"))
            let blobs = try lb.restic(["list", "blobs"])
            #expect(blobs.status == 0, "\(blobs)")
            let lines = blobs.out.split(separator: "\n")
            let repeated = Dictionary(grouping: lines, by: { $0 }).filter { $0.value.count > 1 }.keys
            #expect(!lines.isEmpty && repeated.isEmpty, "blobs stored more than once: \(repeated.sorted().prefix(10))")
            #expect(try lb.restic(["check"]).isSpotlessCheck)
        }
    }

    /// A warm cache serves snapshot, index and tree data: `snapshots` and an incremental
    /// backup download none of them again (counted at a proxy).
    @Test func cacheAvoidsDownloads() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let proxy = try FaultProxy(upstream: moto, seed: 1, fraction: 0)
        defer { proxy.stop() }
        try withTempDir("s3-cache") { work in
            let lb = S3Lifeboat(endpoint: proxy.endpoint, bucket: "cached", prefix: "r", work: work)
            let src = work.sub("src")
            try makeTree(at: src, seed: 5, files: 12, size: 50_000)
            try lb.check(["init"])
            try lb.check(["backup", src])
            try lb.check(["backup", src])
            try lb.check(["snapshots"])
            let before = try proxy.stats()
            try lb.check(["snapshots"])
            try makeTree(at: src + "/new", seed: 6, files: 3, size: 40_000)
            try lb.check(["backup", src])
            let after = try proxy.stats()
            func delta(_ kind: String) -> Int { (after.byKind[kind] ?? 0) - (before.byKind[kind] ?? 0) }
            #expect(delta("GET snapshots") == 0, "snapshot files downloaded again: \(after.byKind)")
            #expect(delta("GET index") == 0, "index files downloaded again: \(after.byKind)")
            #expect(delta("PUT data") >= 1)
            // The parent's trees were cached when the second backup read them; only the root
            // tree can be new (its /tmp entry changes as other programs use /tmp).
            #expect(delta("GET data") <= 1, "tree blobs downloaded again: \(after.byKind)")

            let uncached = lb.via(proxy.endpoint, extra: ["--no-cache"])
            let mid = try proxy.stats()
            try uncached.check(["snapshots"])
            #expect((try proxy.stats().byKind["GET snapshots"] ?? 0) - (mid.byKind["GET snapshots"] ?? 0) == 3)
            // Without the cache, the same incremental backup reads every tree of its parent.
            let beforeUncached = try proxy.stats()
            try uncached.check(["backup", src])
            let treesRead = (try proxy.stats().byKind["GET data"] ?? 0) - (beforeUncached.byKind["GET data"] ?? 0)
            #expect(treesRead >= 4, "an uncached incremental backup read only \(treesRead) trees")
        }
    }

    @Test func objectLockRetention() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try withTempDir("s3-lock") { work in
            let lb = S3Lifeboat(endpoint: moto.endpoint, bucket: "locked", prefix: "", work: work)
            let src = work.sub("src")
            try makeTree(at: src, seed: 8, files: 4, size: 30_000)
            try lb.check(["init", "--object-lock-days", "3"])
            try lb.check(["backup", src, "--object-lock-days", "2", "--object-lock-mode", "COMPLIANCE"])
            let keys = try moto.keys("locked")
            let pack = try #require(keys.first { $0.hasPrefix("data/") })
            let snapshot = try #require(keys.first { $0.hasPrefix("snapshots/") })
            let index = try #require(keys.first { $0.hasPrefix("index/") })
            for key in [pack, snapshot, index] {
                let retention = try moto.retention("locked", key)
                #expect(retention.hasPrefix("COMPLIANCE "), "\(key): \(retention)")
                // Retained until about two days from now (the date S3 stores, not a timing check).
                let until = ISO8601DateFormatter().date(from: String(retention.dropFirst("COMPLIANCE ".count)).replacingOccurrences(of: "+00:00", with: "Z"))
                #expect(until.map { $0.timeIntervalSinceNow > 86_400 && $0.timeIntervalSinceNow < 3 * 86_400 } == true, "\(key): \(retention)")
            }
            #expect(try moto.retention("locked", "config") == "None None")
            #expect(try lb.check(["check", "--read-data"]).out.contains("no errors were found"))
            // A bucket without Object Lock refuses retention headers: a clear error, no half-written snapshot.
            let plain = S3Lifeboat(endpoint: moto.endpoint, bucket: "unlocked", prefix: "", work: work)
            try moto.createBucket("unlocked")
            try plain.check(["init"])
            let refused = try plain.run(["backup", src, "--object-lock-days", "1"])
            #expect(refused.status != 0, "\(refused)")
            #expect(refused.err.contains("s3://unlocked/"), "\(refused)")
            #expect(try plain.check(["snapshots", "--json"]).out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }
}
