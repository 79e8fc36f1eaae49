import Foundation
import Testing

/// The usual invocation, `backup /absolute/path`: the snapshot tree then holds the parent
/// directories too. Each tool must restore the other's snapshot below `--target` at the
/// same place, and lifeboat's `SNAPSHOT:PATH` must pick out the subtree.
@Suite("absolute backup paths")
struct AbsolutePathTests {
    @Test("restic and lifeboat back up an absolute path; both restore both snapshots at target/<path>")
    func absolutePaths() throws {
        try withTempDir("absolute") { tmp in
            let src = tmp.sub("src")
            try FS.mkdir(RawPath(src))
            try RichTree.build(at: src, seed: 3, largeFiles: false)
            let restic = try Restic(repository: tmp.sub("repo"), password: "abs-pw")
            let lifeboat = try Lifeboat(repository: tmp.sub("repo"), password: "abs-pw")
            try lifeboat.check(["init"])
            try lifeboat.check(["backup", src])
            try restic.check(["backup", src])

            let listed = try restic.snapshots()
            try #require(listed.count == 2, "restic lists \(listed.map(\.id))")
            #expect(listed.allSatisfy { $0.paths == [src] }, "recorded paths: \(listed.map(\.paths))")
            #expect(listed[1].parent == listed[0].id, "restic must take lifeboat's snapshot of the same path as parent")
            // (Tree IDs differ legitimately: the tools chunk differently, the first backup's reads
            // move atimes, and /tmp itself changes between the two backups.)

            for (snapshot, writer) in zip(listed, ["lifeboat", "restic"]) {
                for tool in ["restic", "lifeboat"] {
                    let target = tmp.sub("\(tool)-\(writer)")
                    let restored = tool == "restic"
                        ? try restic.check(["restore", snapshot.id, "--target", target])
                        : try lifeboat.check(["restore", snapshot.id, "--target", target])
                    #expect(restored.err.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(tool) restore warned: \(restored)")
                    let diffs = try compareTrees(expected: src, actual: target + src)
                    #expect(diffs.isEmpty, "\(tool) restore of \(writer)'s snapshot of \(src), at target\(src):\n\(report(diffs))")
                }
                let subtree = tmp.sub("lifeboat-subpath-\(writer)")
                try lifeboat.check(["restore", "\(snapshot.id):\(src)", "--target", subtree])
                let diffs = try compareTrees(expected: src, actual: subtree)
                #expect(diffs.isEmpty, "lifeboat restore \(snapshot.id.prefix(8)):\(src) of \(writer)'s snapshot:\n\(report(diffs))")
            }
        }
    }
}
