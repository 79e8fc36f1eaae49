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
            try lifeboat.check(["backup", "."], directory: src)
            let ref2 = tmp.sub("ref2")
            try RichTree.copy(src, to: ref2)

            let ids = try lifeboat.snapshotIDs()
            #expect(ids.count == 2, "lifeboat lists \(ids)")
            let resticIDs = try restic.snapshotIDs()
            #expect(resticIDs == ids, "restic lists \(resticIDs), lifeboat \(ids)")

            let check = try restic.run(["check", "--read-data"])
            #expect(check.status == 0, "restic check --read-data on lifeboat's repository: \(check)")
            #expect(check.out.contains("no errors were found"), "\(check)")
            let ownCheck = try lifeboat.run(["check", "--read-data"])
            #expect(ownCheck.status == 0, "lifeboat check --read-data: \(ownCheck)")

            try #require(ids.count == 2)
            for (n, (id, reference)) in zip(ids, [ref1, ref2]).enumerated() {
                let byRestic = tmp.sub("restic-restore-\(n + 1)")
                try restic.check(["restore", id, "--target", byRestic])
                let resticDiffs = try compareTrees(expected: reference, actual: byRestic)
                #expect(resticDiffs.isEmpty, "restic restore of lifeboat snapshot \(n + 1) (\(id)) differs from the source:\n\(report(resticDiffs))")

                let byLifeboat = tmp.sub("lifeboat-restore-\(n + 1)")
                try lifeboat.check(["restore", id, "--target", byLifeboat])
                let lifeboatDiffs = try compareTrees(expected: reference, actual: byLifeboat)
                #expect(lifeboatDiffs.isEmpty, "lifeboat restore of snapshot \(n + 1) (\(id)) differs from the source:\n\(report(lifeboatDiffs))")
            }
        }
    }
}
