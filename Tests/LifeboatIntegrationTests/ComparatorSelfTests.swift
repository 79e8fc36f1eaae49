import Foundation
import Testing

/// The interop tests are only as good as their comparator: it must notice every kind of
/// difference it claims to check, and name the path.
@Suite("tree comparator")
struct ComparatorSelfTests {
    @Test("the comparator reports each kind of difference with its path")
    func detectsDifferences() throws {
        try withTempDir("comparator") { tmp in
            let a = tmp.sub("a"), b = tmp.sub("b")
            try FS.mkdir(RawPath(a))
            try RichTree.build(at: a)
            try RichTree.copy(a, to: b)
            let r = RawPath(b)
            func p(_ s: String) -> RawPath { r + RawPath(s) }
            do {
                // (cp itself moved the source's atimes, so the copy is compared with itself.)
                let original = try ScannedTree(root: b)
                var withAtimes = CompareOptions()
                withAtimes.compareAtimes = true
                #expect(compareScanned(expected: original, actual: try ScannedTree(root: b), options: withAtimes).isEmpty,
                        "scanning a tree must not move its atimes")
                let u = try FS.lstat(p("random-100k.bin"))
                try FS.setTimes(p("random-100k.bin"), mtime: (u.st_mtim.tv_sec, u.st_mtim.tv_nsec),
                                atime: (u.st_atim.tv_sec, (u.st_atim.tv_nsec + 1) % 1_000_000_000))
                let moved = try ScannedTree(root: b)
                let atimeDiffs = compareScanned(expected: original, actual: moved, options: withAtimes)
                #expect(atimeDiffs.count == 1 && atimeDiffs.first?.hasPrefix("random-100k.bin: atime") == true, "\(atimeDiffs)")
                #expect(compareScanned(expected: original, actual: moved).isEmpty, "atimes are compared only on request")
            }
            #expect(try compareTrees(expected: a, actual: b).isEmpty, "a cp -a copy must compare equal")

            let before = try FS.lstat(p("small.txt"))
            try FS.writeFile(p("small.txt"), Array("hello lifeboaT\n".utf8))        // same size, other content
            try FS.setTimes(p("small.txt"), mtime: (before.st_mtim.tv_sec, before.st_mtim.tv_nsec))
            try FS.chmod(p("modes/setuid-bin"), 0o755)                              // setuid lost
            try FS.chmod(p("modes/sticky-dir"), 0o777)                              // sticky lost
            let t = try FS.lstat(p("modes/exec.sh"))
            try FS.setTimes(p("modes/exec.sh"), mtime: (t.st_mtim.tv_sec, t.st_mtim.tv_nsec + 1)) // 1 ns
            try FS.setXattr(p("xattr.txt"), "user.binary", [0x00, 0xff, 0x10, 0x81])
            try FS.unlink(p("nested/hardlink-2.txt"))                               // hard link broken
            try FS.writeFile(p("nested/hardlink-2.txt"), Array("shared by two names\n".utf8))
            try FS.unlink(p("dangling-link"))
            try FS.symlink(p("dangling-link"), to: RawPath("does/not/exist2"))
            try FS.lchown(p("owned/by-1234.txt"), uid: 1234, gid: 5679)
            try FS.unlink(p("specials/pipe.fifo"))
            try FS.writeFile(p("specials/pipe.fifo"), [])
            try FS.unlink(r + RawPath(Array("names/latin1-".utf8) + [0xe9, 0x74, 0xe9] + Array(".txt".utf8)))
            try FS.writeFile(p("extra.txt"), [])

            let diffs = try compareTrees(expected: a, actual: b)
            let expectedMentions = [
                "small.txt: sha256", "modes/setuid-bin: mode expected 4755, got 755", "modes/sticky-dir: mode expected 1777, got 777",
                "modes/exec.sh: mtime", "xattr.txt: xattrs", "hardlink-1.txt: hard-link group", "nested/hardlink-2.txt: hard-link group",
                "dangling-link: link target", "owned/by-1234.txt: owner expected 1234:5678, got 1234:5679",
                "specials/pipe.fifo: type expected fifo, got file", "names/latin1-\\xe9t\\xe9.txt: file missing",
                "extra.txt: unexpected file",
            ]
            for mention in expectedMentions {
                #expect(diffs.contains { $0.hasPrefix(mention) || $0.contains(mention) }, "no difference reported for \(mention); got:\n\(report(diffs))")
            }
        }
    }

    @Test("the manifest comparison reports a changed restore")
    func manifestDetectsDifferences() throws {
        let manifest = try FixtureManifest.load()
        let expected = try manifest.repository("restic-v2-repo")
        let snapshot = try #require(expected.snapshots.last)
        try withTempDir("manifest-self") { tmp in
            try unpack(archive: try Locations.sharedTestdata() + "/restic/restic-v2-repo.tar.gz", into: tmp.path)
            let out = tmp.sub("out")
            try Lifeboat(repository: tmp.sub(expected.top_dir), password: manifest.password).check(["restore", snapshot.id, "--target", out])
            #expect(compareWithManifest(try ScannedTree(root: out), snapshot, fileTimesOnly: false).isEmpty)
            let r = RawPath(out)
            try FS.chmod(r + RawPath("modes/setuid-bin"), 0o755)
            try FS.unlink(r + RawPath("hello-hardlink.txt"))
            try FS.writeFile(r + RawPath("hello-hardlink.txt"), try FS.readFile(r + RawPath("hello.txt")))
            try FS.setXattr(r + RawPath("xattr.txt"), "user.extra", [1])
            let diffs = compareWithManifest(try ScannedTree(root: out), snapshot, fileTimesOnly: false)
            for mention in ["modes/setuid-bin: mode", "hello-hardlink.txt: mtime", "hello-hardlink.txt: hard-link group", "xattr.txt: xattrs"] {
                #expect(diffs.contains { $0.hasPrefix(mention) }, "no difference reported for \(mention); got:\n\(report(diffs))")
            }
        }
    }
}
