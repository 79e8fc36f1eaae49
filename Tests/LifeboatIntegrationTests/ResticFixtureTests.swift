import Foundation
import Testing

/// Issue 2, interop (2): every restic-made repository in ../shared/testdata/restic restores
/// with lifeboat exactly as MANIFEST.json says (our fixtures) or exactly as restic itself
/// restores it (restic's own fixtures).
@Suite("restic writes, lifeboat reads")
struct ResticFixtureTests {
    static func unpackFixture(_ name: String, into tmp: TempDir) throws -> String {
        let archive = try Locations.sharedTestdata() + "/restic/\(name).tar.gz"
        try unpack(archive: archive, into: tmp.path)
        return tmp.path
    }

    @Test("lifeboat restores every snapshot of the Lifeboat-made restic fixtures exactly as MANIFEST.json lists it",
          arguments: ["restic-v2-repo", "restic-v1-repo"])
    func manifestFixture(_ name: String) throws {
        let manifest = try FixtureManifest.load()
        let expected = try manifest.repository(name)
        try withTempDir("fixture") { tmp in
            let repo = try Self.unpackFixture(name, into: tmp) + "/" + expected.top_dir
            let lifeboat = try Lifeboat(repository: repo, password: manifest.password)
            let listed = try lifeboat.snapshots()
            #expect(listed.map(\.id) == expected.snapshots.map(\.id), "lifeboat lists \(listed.map(\.id))")
            #expect(listed.map(\.tree) == expected.snapshots.map(\.tree), "tree IDs: \(listed.map(\.tree))")
            let check = try lifeboat.run(["check", "--read-data"])
            #expect(check.status == 0, "lifeboat check --read-data on \(name): \(check)")
            for snapshot in expected.snapshots {
                let target = tmp.sub("restore-\(snapshot.label)")
                try lifeboat.check(["restore", snapshot.id, "--target", target])
                let diffs = compareWithManifest(try ScannedTree(root: target), snapshot, fileTimesOnly: false)
                #expect(diffs.isEmpty, "\(name) \(snapshot.label) (\(snapshot.id)) restored by lifeboat differs from MANIFEST.json:\n\(report(diffs))")
            }
        }
    }

    @Test("restic-v2-repo opens with its second key's password")
    func secondKey() throws {
        let manifest = try FixtureManifest.load()
        let expected = try manifest.repository("restic-v2-repo")
        try withTempDir("second-key") { tmp in
            let repo = try Self.unpackFixture("restic-v2-repo", into: tmp) + "/" + expected.top_dir
            let lifeboat = try Lifeboat(repository: repo, password: manifest.second_key_password_v2)
            #expect(try lifeboat.snapshotIDs() == expected.snapshots.map(\.id))
            let snapshot = try #require(expected.snapshots.last)
            let target = tmp.sub("restore")
            try lifeboat.check(["restore", snapshot.id, "--target", target])
            let diffs = compareWithManifest(try ScannedTree(root: target), snapshot, fileTimesOnly: false)
            #expect(diffs.isEmpty, "restore with the second key differs from MANIFEST.json:\n\(report(diffs))")

            let wrong = try Lifeboat(repository: repo, password: "not-the-password").run(["snapshots"])
            #expect(wrong.status == 12, "a wrong password must exit 12: \(wrong)")
        }
    }

    @Test("lifeboat restores restic's own fixtures exactly as restic does",
          arguments: ["small-repo", "repo-same-timestamps", "repo-restore-permissions-test", "repo-mixed",
                      "repo-obsolete-index", "repo-duplicates"])
    func resticOwnFixture(_ name: String) throws {
        try withTempDir("upstream") { tmp in
            let repo = try Self.unpackFixture(name, into: tmp) + "/repo"
            let restic = try Restic(repository: repo, password: "geheim")
            let lifeboat = try Lifeboat(repository: repo, password: "geheim")
            let ids = try restic.snapshotIDs()
            #expect(!ids.isEmpty)
            let ours = try lifeboat.snapshotIDs()
            #expect(Set(ours) == Set(ids), "lifeboat lists \(ours), restic \(ids)")
            let check = try lifeboat.run(["check", "--read-data"])
            #expect(check.status == 0, "lifeboat check --read-data on \(name) (restic 0.14 finds no errors): \(check)")
            for (n, id) in ids.enumerated() {
                let byRestic = tmp.sub("restic-\(n)"), byLifeboat = tmp.sub("lifeboat-\(n)")
                try restic.check(["restore", id, "--target", byRestic])
                try lifeboat.check(["restore", id, "--target", byLifeboat])
                var options = CompareOptions()
                options.compareAtimes = true
                let diffs = try compareTrees(expected: byRestic, actual: byLifeboat, options: options)
                #expect(diffs.isEmpty, "\(name) snapshot \(id): lifeboat's restore differs from restic's:\n\(report(diffs))")
            }
        }
    }
}
