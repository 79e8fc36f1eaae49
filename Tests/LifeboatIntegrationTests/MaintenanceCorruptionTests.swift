import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Damage a repository on purpose: check names exactly what is hurt (snapshots and paths),
/// repair recovers everything that is still there.
@Suite("Maintenance corruption and repair", .serialized)
struct MaintenanceCorruptionTests {
    static let password = MaintenanceInteropTests.password

    /// Two snapshots: `keep/` is the same in both; `a.bin` only in the first, `b.bin` only in the second.
    /// Small packs (one file each) come from separate backups of single large files.
    static func makeRepo(_ tmp: TempDir) throws -> (lb: Lifeboat, first: String, second: String, src: String) {
        var rng = MaintenanceInteropTests.Seeded(state: 77)
        let repo = tmp.sub("repo"), src = tmp.sub("src")
        let lb = try Lifeboat(repository: repo, password: password)
        try lb.check(["init"])
        try FileManager.default.createDirectory(atPath: src + "/keep", withIntermediateDirectories: true)
        try MaintenanceInteropTests.randomBytes(300_000, &rng).write(to: URL(fileURLWithPath: src + "/keep/k.bin"))
        try MaintenanceInteropTests.randomBytes(300_000, &rng).write(to: URL(fileURLWithPath: src + "/a.bin"))
        try lb.check(["backup", "-q", "."], directory: src)
        try FileManager.default.removeItem(atPath: src + "/a.bin")
        try MaintenanceInteropTests.randomBytes(300_000, &rng).write(to: URL(fileURLWithPath: src + "/b.bin"))
        try lb.check(["backup", "-q", "."], directory: src)
        let ids = try lb.snapshots().sorted { $0.time < $1.time }.map(\.id)
        return (lb, ids[0], ids[1], src)
    }

    /// The data pack that holds `file`'s content, found through `cat`.
    static func packOf(_ lb: Lifeboat, snapshot: String, file: String) throws -> (path: String, offset: Int) {
        let tree = try lb.check(["cat", "snapshot", snapshot]).out
        let root = try #require(try JSONSerialization.jsonObject(with: Data(tree.utf8)) as? [String: Any])["tree"] as! String
        var treeID = root
        let parts = file.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let json = try lb.check(["cat", "tree", treeID]).stdout
            let nodes = try #require((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["nodes"] as? [[String: Any]])
            let node = try #require(nodes.first { $0["name"] as? String == part })
            if i == parts.count - 1 {
                let blob = try #require((node["content"] as? [String])?.first)
                return try findPack(lb.repository, blob: blob, lb: lb)
            }
            treeID = try #require(node["subtree"] as? String)
        }
        throw ProcessFailure(result: ProcessResult(command: [], status: 1, stdout: Data(), stderr: Data()))
    }

    static func findPack(_ repo: String, blob: String, lb: Lifeboat) throws -> (path: String, offset: Int) {
        for index in try FileManager.default.contentsOfDirectory(atPath: repo + "/index") {
            let json = try lb.check(["cat", "index", index]).stdout
            let packs = try #require((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["packs"] as? [[String: Any]])
            for pack in packs {
                guard let entry = (pack["blobs"] as? [[String: Any]])?.first(where: { $0["id"] as? String == blob }) else { continue }
                let id = pack["id"] as! String
                return (repo + "/data/" + id.prefix(2) + "/" + id, entry["offset"] as! Int)
            }
        }
        throw ProcessFailure(result: ProcessResult(command: ["find pack of", blob], status: 1, stdout: Data(), stderr: Data()))
    }

    static func flipByte(_ path: String, at offset: Int) throws {
        chmod(path, 0o600)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()
    }

    @Test("a flipped byte in a pack: check names the file and both snapshots; repair keeps everything else")
    func flippedByte() throws {
        try withTempDir("maint-flip") { tmp in
            let (lb, first, second, src) = try Self.makeRepo(tmp)
            let (pack, offset) = try Self.packOf(lb, snapshot: first, file: "keep/k.bin")
            try Self.flipByte(pack, at: offset + 40)
            let check = try lb.run(["check", "--read-data"])
            #expect(check.status == 1)
            let damage = check.err.split(separator: "\n").filter { $0.contains("file /keep/k.bin") }
            #expect(damage.count == 1, "\(check)")
            #expect(damage.first.map { $0.contains(first.prefix(8)) && $0.contains(second.prefix(8)) } == true, "\(check)")
            #expect(!check.err.contains("a.bin") && !check.err.contains("b.bin"), "only k.bin is hurt: \(check)")

            try lb.check(["repair", "index", "--read-all-packs"])
            let repaired = try lb.check(["repair", "snapshots", "--forget"])
            #expect(repaired.out.contains("file /keep/k.bin"), "\(repaired)")
            try lb.check(["prune"])
            let after = try lb.run(["check", "--read-data"])
            #expect(after.status == 0, "\(after)")
            let restic = try Restic(repository: lb.repository, password: Self.password)
            let resticCheck = try restic.run(["check", "--read-data"])
            #expect(resticCheck.isSpotlessCheck, "\(resticCheck)")
            // What was not damaged restores exactly.
            let target = tmp.sub("t")
            try lb.check(["restore", "latest", "--target", target, "-q"])
            #expect(FileManager.default.contentsEqual(atPath: src + "/b.bin", andPath: target + "/b.bin"))
        }
    }

    @Test("a deleted pack: check names the lost file; repair index + repair snapshots make the rest usable")
    func deletedPack() throws {
        try withTempDir("maint-delete") { tmp in
            let (lb, first, second, src) = try Self.makeRepo(tmp)
            let (pack, _) = try Self.packOf(lb, snapshot: second, file: "b.bin")
            try FileManager.default.removeItem(atPath: pack)
            let check = try lb.run(["check"])
            #expect(check.status == 1)
            let damage = check.err.split(separator: "\n").filter { $0.contains("file /b.bin") }
            #expect(damage.count == 1 && damage[0].contains(second.prefix(8)) && !damage[0].contains(first.prefix(8)), "\(check)")
            #expect(!check.err.contains("k.bin"), "\(check)")

            try lb.check(["repair", "index"])
            try lb.check(["repair", "snapshots"])
            let after = try lb.run(["check"])
            // The damaged original stays (no --forget) and still reports; the repaired copy is clean.
            #expect(after.status == 1 && after.err.contains(second.prefix(8)), "\(after)")
            try lb.check(["forget", second])
            let clean = try lb.run(["check", "--read-data"])
            #expect(clean.status == 0, "\(clean)")
            let target = tmp.sub("t")
            try lb.check(["restore", first, "--target", target, "-q"])
            #expect(FileManager.default.contentsEqual(atPath: src + "/keep/k.bin", andPath: target + "/keep/k.bin"))
        }
    }

    @Test("a truncated index file: check reports it; repair index rebuilds it from the packs")
    func truncatedIndex() throws {
        try withTempDir("maint-index") { tmp in
            let (lb, first, _, src) = try Self.makeRepo(tmp)
            let indexDir = lb.repository + "/index"
            for name in try FileManager.default.contentsOfDirectory(atPath: indexDir) {
                let path = indexDir + "/" + name
                chmod(path, 0o600)
                let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                try handle.truncate(atOffset: 20)
                try handle.close()
            }
            let check = try lb.run(["check"])
            #expect(check.status == 1 && check.err.contains("index"), "\(check)")
            let repair = try lb.check(["repair", "index"])
            #expect(repair.status == 0)
            let after = try lb.run(["check", "--read-data"])
            #expect(after.status == 0, "\(after)")
            let restic = try Restic(repository: lb.repository, password: Self.password)
            #expect(try restic.run(["check", "--read-data"]).isSpotlessCheck)
            let target = tmp.sub("t")
            try lb.check(["restore", first, "--target", target, "-q"])
            #expect(FileManager.default.contentsEqual(atPath: src + "/keep/k.bin", andPath: target + "/keep/k.bin"))
        }
    }
}
