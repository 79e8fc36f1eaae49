import Foundation
import Testing

/// Issue 2, interop (3): restic and lifeboat back up into the same repository in turn; both
/// check it clean and both restore every snapshot to the right content.
@Suite("restic and lifeboat share a repository")
struct AlternatingWritersTests {
    @Test("restic init; restic, lifeboat, restic, lifeboat backups with changes between; both check clean and restore everything")
    func alternatingBackups() throws {
        try withTempDir("alternate") { tmp in
            let src = tmp.sub("src")
            try FS.mkdir(RawPath(src))
            try RichTree.build(at: src, seed: 7)
            let password = "shared-repo-pw"
            let restic = try Restic(repository: tmp.sub("repo"), password: password)
            let lifeboat = try Lifeboat(repository: tmp.sub("repo"), password: password)

            try restic.check(["init"])
            var references: [String] = []
            let writers = ["restic", "lifeboat", "restic", "lifeboat"]
            for (step, writer) in writers.enumerated() {
                if step > 0 { try RichTree.modify(at: src, step: step) }
                let result = writer == "restic"
                    ? try restic.check(["backup", "--json", "."], directory: src)
                    : try lifeboat.check(["backup", "--json", "."], directory: src)
                // Files the previous snapshot (written by the other tool) shows unchanged are
                // not read again: each tool reads the other's size/mtime/ctime/inode exactly.
                let summary = try BackupSummary(result)
                let files = try ScannedTree(root: src).entries.values.filter { $0.kind == .file }.count
                let (new, changed) = step == 0 ? (files, 0) : RichTree.expectedFileChanges(step: step)
                #expect(summary.filesNew == new && summary.filesChanged == changed && summary.filesUnmodified == files - new - changed,
                        "\(writer) backup after step \(step): \(summary); expected \(new) new, \(changed) changed, \(files - new - changed) unmodified")
                let reference = tmp.sub("ref\(step + 1)")
                try RichTree.copy(src, to: reference)
                references.append(reference)
            }
            let copyDiffs = try compareTrees(expected: src, actual: references.last!)
            try #require(copyDiffs.isEmpty, "the reference copy (cp -a) differs from the source:\n\(report(copyDiffs))")

            let resticCheck = try restic.run(["check", "--read-data"])
            #expect(resticCheck.isSpotlessCheck, "restic check --read-data: \(resticCheck)")
            let lifeboatCheck = try lifeboat.run(["check", "--read-data"])
            #expect(lifeboatCheck.isSpotlessCheck, "lifeboat check --read-data: \(lifeboatCheck)")

            let ids = try restic.snapshotIDs()
            #expect(ids.count == writers.count, "restic lists \(ids)")
            let ours = try lifeboat.snapshotIDs()
            #expect(ours == ids, "lifeboat lists \(ours), restic \(ids)")
            try #require(ids.count == writers.count)
            // Each backup takes the previous one, whoever wrote it, as parent: both tools
            // record the same host and paths and find each other's snapshots.
            let listed = try restic.snapshots()
            for n in 1..<listed.count {
                #expect(listed[n].parent == ids[n - 1],
                        "snapshot \(n + 1) (\(writers[n])) has parent \(listed[n].parent ?? "none"), expected \(ids[n - 1]) (\(writers[n - 1]))")
                #expect(listed[n].paths == listed[0].paths && listed[n].hostname == listed[0].hostname,
                        "paths/host differ between the tools: \(listed.map { ($0.paths, $0.hostname) })")
            }
            for (n, id) in ids.enumerated() {
                let reference = try ScannedTree(root: references[n])
                var scans: [ScannedTree] = []
                for tool in ["restic", "lifeboat"] {
                    let target = tmp.sub("\(tool)-restore-\(n + 1)")
                    let restored = tool == "restic"
                        ? try restic.check(["restore", id, "--target", target])
                        : try lifeboat.check(["restore", id, "--target", target])
                    #expect(restored.err.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(tool) restore warned: \(restored)")
                    let scan = try ScannedTree(root: target)
                    scans.append(scan)
                    let diffs = compareScanned(expected: reference, actual: scan)
                    #expect(diffs.isEmpty, "\(tool) restore of snapshot \(n + 1) (written by \(writers[n]), \(id)) differs from the source:\n\(report(diffs))")
                }
                // Both restores of one snapshot also agree on access times (the source's moved
                // when it was read, so it cannot serve here).
                var withAtimes = CompareOptions()
                withAtimes.compareAtimes = true
                let diffs = compareScanned(expected: scans[0], actual: scans[1], options: withAtimes)
                #expect(diffs.isEmpty, "restic's and lifeboat's restores of snapshot \(n + 1) (\(id)) differ:\n\(report(diffs))")
            }
        }
    }
}
