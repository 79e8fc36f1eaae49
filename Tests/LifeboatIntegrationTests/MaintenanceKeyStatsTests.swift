import Foundation
import Testing

@Suite("Maintenance keys, stats, forget JSON", .serialized)
struct MaintenanceKeyStatsTests {
    @Test("key add/passwd/remove: restic opens with the new password; the key in use cannot be removed")
    func keys() throws {
        try withTempDir("maint-keys") { tmp in
            let repo = tmp.sub("repo")
            let lb = try Lifeboat(repository: repo, password: "first")
            try lb.check(["init"])
            try "second\n".write(toFile: tmp.sub("pw2"), atomically: true, encoding: .utf8)
            try lb.check(["key", "add", "--new-password-file", tmp.sub("pw2")])
            let keys = try JSONSerialization.jsonObject(with: lb.check(["key", "list", "--json"]).stdout) as! [[String: Any]]
            #expect(keys.count == 2)
            let current = keys.first { $0["current"] as? Bool == true }!["id"] as! String
            let refused = try lb.run(["key", "remove", String(current.prefix(8))])
            #expect(refused.status == 1 && refused.err.contains("currently used"), "\(refused)")
            let restic = try Restic(repository: repo, password: "second")
            try restic.check(["key", "remove", String(current.prefix(8))])
            #expect(try lb.run(["snapshots"]).status == 12, "the removed key's password must no longer open")
            let second = try Lifeboat(repository: repo, password: "second")
            try "third\n".write(toFile: tmp.sub("pw3"), atomically: true, encoding: .utf8)
            try second.check(["key", "passwd", "--new-password-file", tmp.sub("pw3")])
            #expect(try second.run(["snapshots"]).status == 12)
            try Restic(repository: repo, password: "third").check(["snapshots"])
        }
    }

    @Test("stats: restore size, unique contents and raw data with the dedup ratio; forget --json groups")
    func statsAndForgetJSON() throws {
        try withTempDir("maint-stats") { tmp in
            let repo = tmp.sub("repo"), src = tmp.sub("src")
            let lb = try Lifeboat(repository: repo, password: "pw")
            try lb.check(["init"])
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            var rng = MaintenanceInteropTests.Seeded(state: 1)
            let data = MaintenanceInteropTests.randomBytes(500_000, &rng)
            try data.write(to: URL(fileURLWithPath: src + "/a"))
            try data.write(to: URL(fileURLWithPath: src + "/b"))   // same content: deduplicated
            try lb.check(["backup", "-q", "."], directory: src)
            try lb.check(["backup", "-q", "."], directory: src)
            func stats(_ mode: String) throws -> [String: Any] {
                try JSONSerialization.jsonObject(with: lb.check(["stats", "--json", "--mode", mode]).stdout) as! [String: Any]
            }
            let restore = try stats("restore-size")
            #expect(restore["total_size"] as? Int == 2_000_000)   // 2 files × 2 snapshots
            let contents = try stats("files-by-contents")
            #expect(contents["total_file_count"] as? Int == 1 && contents["total_size"] as? Int == 500_000)
            let raw = try stats("raw-data")
            #expect(raw["total_uncompressed_size"] as? Int ?? 0 >= 500_000)
            #expect(raw["total_uncompressed_size"] as? Int ?? 0 < 510_000)
            #expect((raw["deduplication_ratio"] as? Double ?? 0) > 3.9)
            let restic = try Restic(repository: repo, password: "pw")
            let resticRaw = try JSONSerialization.jsonObject(with: restic.check(["stats", "--json", "--mode", "raw-data"]).stdout) as! [String: Any]
            #expect(resticRaw["total_size"] as? Int == raw["total_size"] as? Int, "raw-data total_size must match restic's")

            let forget = try lb.check(["forget", "--json", "--keep-last", "1", "--dry-run"])
            let groups = try JSONSerialization.jsonObject(with: forget.stdout) as! [[String: Any]]
            #expect(groups.count == 1)
            #expect((groups[0]["keep"] as? [Any])?.count == 1 && (groups[0]["remove"] as? [Any])?.count == 1)
            let reasons = groups[0]["reasons"] as! [[String: Any]]
            #expect(reasons[0]["matches"] as? [String] == ["last snapshot"])
            #expect(try lb.snapshotIDs().count == 2, "--dry-run removes nothing")
        }
    }
}
