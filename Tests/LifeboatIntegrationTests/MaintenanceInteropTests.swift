import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// forget/prune/check/repair against the real restic, on repositories of both tools.
@Suite("Maintenance interop", .serialized)
struct MaintenanceInteropTests {
    static let password = "maint-pw"

    /// A small deterministic generator (SplitMix64) so every run does the same thing.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomBytes(_ count: Int, _ rng: inout Seeded) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var v = rng.next()
            for _ in 0..<8 where i < count { bytes[i] = UInt8(truncatingIfNeeded: v); v >>= 8; i += 1 }
        }
        return Data(bytes)
    }

    /// Randomly adds, rewrites and deletes files under `dir`.
    static func mutate(_ dir: String, _ rng: inout Seeded) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        for _ in 0..<Int.random(in: 2...5, using: &rng) {
            let name = (Bool.random(using: &rng) ? "sub/" : "") + "f\(Int.random(in: 0..<12, using: &rng))"
            let path = dir + "/" + name
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: try? fm.removeItem(atPath: path)
            default: try randomBytes(Int.random(in: 1...400_000, using: &rng), &rng).write(to: URL(fileURLWithPath: path))
            }
        }
    }

    static func copyTree(_ from: String, _ to: String) throws {
        try Run.check("/bin/cp", ["-a", from, to])
    }

    static func sameTree(_ a: String, _ b: String) throws -> Bool {
        try Run.run("/usr/bin/diff", ["-r", a, b]).status == 0
    }

    @Test("seeded backup/forget/prune rounds: every remaining snapshot restores exactly; restic check --read-data is clean")
    func seededSequences() throws {
        try withTempDir("maint-seq") { tmp in
            var rng = Seeded(state: 20261122)
            let repo = tmp.sub("repo"), src = tmp.sub("src")
            let lb = try Lifeboat(repository: repo, password: Self.password)
            let restic = try Restic(repository: repo, password: Self.password)
            try lb.check(["init"])
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            var copies: [String: String] = [:]   // snapshot ID → copy of the source at that time
            for round in 0..<8 {
                try Self.mutate(src, &rng)
                let before = Set(try lb.snapshotIDs())
                try lb.check(["backup", "-q", "."], directory: src)
                let new = Set(try lb.snapshotIDs()).subtracting(before)
                let id = try #require(new.first)
                let copy = tmp.sub("copy\(round)")
                try Self.copyTree(src, copy)
                copies[id] = copy
                if round % 2 == 1 {
                    let keep = Int.random(in: 1...3, using: &rng)
                    let unused = ["0%", "5%", "unlimited", "20%"].randomElement(using: &rng)!
                    try lb.check(["forget", "-q", "--keep-last", "\(keep)", "--prune", "--max-unused", unused])
                }
            }
            let remaining = try lb.snapshotIDs()
            #expect(!remaining.isEmpty)
            for id in remaining {
                let target = tmp.sub("restore-\(id.prefix(8))")
                try lb.check(["restore", id, "--target", target, "-q"])
                #expect(try Self.sameTree(copies[id]!, target), "snapshot \(id.prefix(8)) does not restore exactly")
            }
            let check = try restic.run(["check", "--read-data"])
            #expect(check.isSpotlessCheck, "\(check)")
            let own = try lb.run(["check", "--read-data"])
            #expect(own.status == 0, "\(own)")
        }
    }

    @Test("restic prune on a lifeboat repository, lifeboat prune on restic's: the other tool checks clean")
    func crossPrune() throws {
        try withTempDir("maint-cross") { tmp in
            var rng = Seeded(state: 7)
            for (writer, pruner) in [("lifeboat", "restic"), ("restic", "lifeboat")] {
                let repo = tmp.sub("repo-\(writer)"), src = tmp.sub("src-\(writer)")
                let lb = try Lifeboat(repository: repo, password: Self.password)
                let restic = try Restic(repository: repo, password: Self.password)
                if writer == "lifeboat" { try lb.check(["init"]) } else { try restic.check(["init"]) }
                try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
                for _ in 0..<4 {
                    try Self.mutate(src, &rng)
                    if writer == "lifeboat" { try lb.check(["backup", "-q", "."], directory: src) }
                    else { try restic.check(["backup", "-q", "."], directory: src) }
                }
                let latestCopy = tmp.sub("latest-\(writer)")
                try Self.copyTree(src, latestCopy)
                if pruner == "restic" { try restic.check(["forget", "--keep-last", "1", "--prune"]) }
                else { try lb.check(["forget", "--keep-last", "1", "--prune", "--max-unused", "0%"]) }
                let resticCheck = try restic.run(["check", "--read-data"])
                #expect(resticCheck.isSpotlessCheck, "\(writer) repo pruned by \(pruner): \(resticCheck)")
                let lbCheck = try lb.run(["check", "--read-data"])
                #expect(lbCheck.status == 0 && !lbCheck.err.contains("error"), "\(writer) repo pruned by \(pruner): \(lbCheck)")
                let target = tmp.sub("restored-\(writer)")
                try lb.check(["restore", "latest", "--target", target, "-q"])
                #expect(try Self.sameTree(latestCopy, target))
            }
        }
    }

    @Test("lifeboat prune on restic's fixture repositories leaves restic check clean",
          arguments: ["repo-unreferenced-data", "repo-duplicates", "repo-obsolete-index", "repo-mixed", "small-repo"])
    func pruneResticFixtures(_ name: String) throws {
        try withTempDir("maint-fixture") { tmp in
            let archive = try Locations.sharedTestdata() + "/restic/\(name).tar.gz"
            try unpack(archive: archive, into: tmp.path)
            let repo = tmp.path + "/repo"
            let lb = try Lifeboat(repository: repo, password: "geheim")
            let restic = try Restic(repository: repo, password: "geheim")
            let before = try restic.snapshotIDs()
            let prune = try lb.run(["prune", "--max-unused", "0%", "--repack-uncompressed"])
            #expect(prune.status == 0, "\(prune)")
            let check = try restic.run(["check", "--read-data"])
            #expect(check.status == 0 && check.out.contains("no errors were found"), "\(check)")
            #expect(!check.out.contains("contained in several indexes"), "\(check)")
            #expect(try restic.snapshotIDs() == before)
            // A second prune has nothing left to do.
            let again = try lb.check(["prune", "--json"])
            #expect(again.out.contains("\"remove_packs\":0"), "\(again)")
        }
    }

    @Test("holds live in a directory restic's check and prune leave alone")
    func holdsAreInvisibleToRestic() throws {
        try withTempDir("maint-hold") { tmp in
            let repo = tmp.sub("repo"), src = tmp.sub("src")
            let lb = try Lifeboat(repository: repo, password: Self.password)
            let restic = try Restic(repository: repo, password: Self.password)
            try lb.check(["init"])
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            var rng = Seeded(state: 3)
            try Self.mutate(src, &rng)
            try lb.check(["backup", "-q", "."], directory: src)
            let first = try lb.snapshotIDs()[0]
            try lb.check(["hold", first, "--until", "2099-01-01", "--reason", "case 42"])
            try Self.mutate(src, &rng)
            try lb.check(["backup", "-q", "."], directory: src)
            let forget = try lb.check(["forget", "--keep-last", "1"])
            #expect(forget.out.contains("held until 2099-01-01T00:00:00Z"), "\(forget)")
            #expect(try lb.snapshotIDs().count == 2)
            let refused = try lb.run(["forget", first])
            #expect(refused.status == 1 && refused.err.contains("held until"), "\(refused)")
            let release = try lb.run(["hold", "--release", first])
            #expect(release.status == 1, "an active hold must not be released: \(release)")
            let check = try restic.run(["check"])
            #expect(check.isSpotlessCheck, "\(check)")
            try restic.check(["prune"])
            #expect(FileManager.default.fileExists(atPath: repo + "/lifeboat-holds"))
            let list = try lb.check(["hold", "--list", "--json"])
            #expect(list.out.contains(first), "\(list)")
        }
    }
}
