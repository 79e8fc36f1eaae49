import Foundation
import Testing

/// What restic 0.14's format cannot carry, pinned down so that a change on either side shows.
@Suite("format limits shared with restic 0.14")
struct KnownLimitationTests {
    /// restic 0.14 writes `linktarget` as a JSON string, so a symlink target that is not valid
    /// UTF-8 comes back with each invalid byte replaced by U+FFFD (RESTIC-V2-FORMAT.md, pitfall
    /// 13). Lifeboat writes that lossy form for restic and the exact bytes in `linktarget_raw`
    /// (which restic 0.14 ignores): only Lifeboat restoring Lifeboat's snapshot gets the exact
    /// target back; every other combination gets exactly the U+FFFD form.
    @Test("a non-UTF-8 symlink target: exact from lifeboat to lifeboat, U+FFFD otherwise")
    func nonUTF8SymlinkTarget() throws {
        try withTempDir("lossy-link") { tmp in
            let src = tmp.sub("src")
            try FS.mkdir(RawPath(src))
            let target: [UInt8] = Array("latin1-".utf8) + [0xe9, 0x74, 0xe9] + Array(".txt".utf8)
            try FS.symlink(RawPath(src) + RawPath("link"), to: RawPath(target))
            let lossy = Array(String(decoding: target, as: UTF8.self).utf8)
            #expect(lossy == Array("latin1-\u{FFFD}t\u{FFFD}.txt".utf8))

            let restic = try Restic(repository: tmp.sub("repo"), password: "pw")
            let lifeboat = try Lifeboat(repository: tmp.sub("repo"), password: "pw")
            try lifeboat.check(["init"])
            try lifeboat.check(["backup", "."], directory: src)
            try restic.check(["backup", "."], directory: src)
            let ids = try restic.snapshotIDs()
            try #require(ids.count == 2)
            for (id, writer) in zip(ids, ["lifeboat", "restic"]) {
                for tool in ["restic", "lifeboat"] {
                    let out = tmp.sub("\(tool)-\(writer)")
                    if tool == "restic" { try restic.check(["restore", id, "--target", out]) } else { try lifeboat.check(["restore", id, "--target", out]) }
                    let got = try FS.readlink(RawPath(out) + RawPath("link"))
                    let expected = tool == "lifeboat" && writer == "lifeboat" ? target : lossy
                    #expect(got == expected, "\(tool) restore of \(writer)'s snapshot: link target \(RawPath.escape(got))")
                }
            }
        }
    }
}
