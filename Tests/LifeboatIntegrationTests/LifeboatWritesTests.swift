import Foundation
import Testing

/// Issue 2, interop (1): what lifeboat writes, the real restic checks clean and restores bit
/// for bit with metadata; lifeboat's own restore matches too.
@Suite("lifeboat writes, restic reads")
struct LifeboatWritesTests {
    @Test("init, backup, change, incremental backup: restic check --read-data is clean and both tools restore every snapshot exactly")
    func resticReadsWhatLifeboatWrote() throws {
        try withTempDir("writes") { tmp in
            let src = tmp.sub("src")
            try FS.mkdir(RawPath(src))
            try RichTree.build(at: src)
            let password = "interop-pw"
            let lifeboat = try Lifeboat(repository: tmp.sub("repo"), password: password)
            let restic = try Restic(repository: tmp.sub("repo"), password: password)

            try lifeboat.check(["init"])
            try lifeboat.check(["backup", "."], directory: src)
            let ref1 = tmp.sub("ref1")
            try RichTree.copy(src, to: ref1)
            let copyDiffs = try compareTrees(expected: src, actual: ref1)
            try #require(copyDiffs.isEmpty, "the reference copy (cp -a) differs from the source:\n\(report(copyDiffs))")

            try RichTree.modify(at: src, step: 1)
            let incremental = try BackupSummary(lifeboat.check(["backup", "--json", "."], directory: src))
            let files = try ScannedTree(root: src).entries.values.filter { $0.kind == .file }.count
            let (new, changed) = RichTree.expectedFileChanges(step: 1)
            #expect(incremental.filesNew == new && incremental.filesChanged == changed && incremental.filesUnmodified == files - new - changed,
                    "incremental backup: \(incremental); expected \(new) new, \(changed) changed, \(files - new - changed) unmodified")
            let ref2 = tmp.sub("ref2")
            try RichTree.copy(src, to: ref2)

            let ids = try lifeboat.snapshotIDs()
            #expect(ids.count == 2, "lifeboat lists \(ids)")
            let resticSnapshots = try restic.snapshots()
            #expect(resticSnapshots.map(\.id) == ids, "restic lists \(resticSnapshots.map(\.id)), lifeboat \(ids)")
            if resticSnapshots.count == 2 {
                #expect(resticSnapshots[0].parent == nil)
                #expect(resticSnapshots[1].parent == ids[0], "the incremental backup must name the first snapshot as parent")
                #expect(resticSnapshots[0].paths == [src] && resticSnapshots[1].paths == [src],
                        "`backup .` must record the absolute path, as restic does: \(resticSnapshots.map(\.paths))")
            }

            let check = try restic.run(["check", "--read-data"])
            #expect(check.isSpotlessCheck, "restic check --read-data on lifeboat's repository: \(check)")
            let ownCheck = try lifeboat.run(["check", "--read-data"])
            #expect(ownCheck.isSpotlessCheck, "lifeboat check --read-data: \(ownCheck)")

            try #require(ids.count == 2)
            for (n, (id, reference)) in zip(ids, [ref1, ref2]).enumerated() {
                let byRestic = tmp.sub("restic-restore-\(n + 1)")
                let restored = try restic.check(["restore", id, "--target", byRestic])
                #expect(restored.err.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "restic restore warned: \(restored)")
                let referenceScan = try ScannedTree(root: reference), resticScan = try ScannedTree(root: byRestic)
                let resticDiffs = compareScanned(expected: referenceScan, actual: resticScan)
                #expect(resticDiffs.isEmpty, "restic restore of lifeboat snapshot \(n + 1) (\(id)) differs from the source:\n\(report(resticDiffs))")

                let byLifeboat = tmp.sub("lifeboat-restore-\(n + 1)")
                try lifeboat.check(["restore", id, "--target", byLifeboat, "--verify"])
                let lifeboatScan = try ScannedTree(root: byLifeboat)
                let lifeboatDiffs = compareScanned(expected: referenceScan, actual: lifeboatScan)
                #expect(lifeboatDiffs.isEmpty, "lifeboat restore of snapshot \(n + 1) (\(id)) differs from the source:\n\(report(lifeboatDiffs))")
                // Access times too, between the two restores (reading the source moved its own);
                // --verify re-reads the files and must not disturb them.
                var withAtimes = CompareOptions()
                withAtimes.compareAtimes = true
                let pairDiffs = compareScanned(expected: resticScan, actual: lifeboatScan, options: withAtimes)
                #expect(pairDiffs.isEmpty, "restic's and lifeboat's (--verify) restores of snapshot \(n + 1) differ:\n\(report(pairDiffs))")

                // Holes come back as holes (issue 2, file-tree fidelity).
                let sourceSparse = try allocatedBytes(reference + "/sparse.img")
                try #require(sourceSparse < 1 << 20, "the file system under /tmp must support holes: the source sparse.img occupies \(sourceSparse) bytes")
                let restoredSparse = try allocatedBytes(byLifeboat + "/sparse.img")
                #expect(restoredSparse <= 2 * max(sourceSparse, 64 << 10),
                        "lifeboat restored sparse.img (3 MiB, \(sourceSparse) bytes allocated) with \(restoredSparse) bytes allocated: holes filled")
            }
        }
    }
}

/// Names that are not UTF-8 must be handled as bytes on every restore path, not only when
/// writing: the existing-file check and `--verify` re-open what was restored.
@Suite("lifeboat restore with non-UTF-8 names")
struct NonUTF8RestoreTests {
    @Test("restore --verify and the refusal to overwrite work for files whose names are not UTF-8")
    func verifyAndRefuseExisting() throws {
        try withTempDir("non-utf8") { tmp in
            let src = tmp.sub("src")
            try FS.mkdir(RawPath(src))
            let dir = RawPath(src) + RawPath(Array("dir-".utf8) + [0xff, 0xfe])
            let file = dir + RawPath(Array("latin1-".utf8) + [0xe9] + Array(".txt".utf8))
            try FS.mkdir(dir)
            try FS.writeFile(file, Array("original content\n".utf8))
            let lifeboat = try Lifeboat(repository: tmp.sub("repo"), password: "pw")
            try lifeboat.check(["init"])
            try lifeboat.check(["backup", "."], directory: src)

            let target = tmp.sub("target")
            let first = try lifeboat.run(["restore", "latest", "--target", target, "--verify"])
            #expect(first.status == 0, "restore --verify: \(first)")
            #expect(try compareTrees(expected: src, actual: target).isEmpty)

            // The target now holds the file: a second restore without --overwrite must refuse
            // and leave it alone.
            let restored = RawPath(target) + RawPath(Array(file.bytes.dropFirst(src.utf8.count + 1)))
            try FS.writeFile(restored, Array("changed by the user\n".utf8))
            let second = try lifeboat.run(["restore", "latest", "--target", target])
            #expect(second.status == 1, "a restore over an existing file without --overwrite must fail: \(second)")
            #expect(second.err.contains("already contains"), "\(second)")
            #expect(try FS.readFile(restored) == Array("changed by the user\n".utf8), "the existing file was overwritten")
        }
    }
}
