import Foundation
import Testing
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// Bad input through the real executable: each case must give a clear message, the
/// documented exit code, no crash, and leave the repository as it was.
@Suite("CLI bad input", .serialized)
struct BadInputTests {
    @Test func wrongPasswordExits12AndChangesNothing() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "hello")
        try w.backup()
        let before = w.repoHash
        for command in [["snapshots"], ["backup", "."], ["restore", "latest", "--target", w.path("t")], ["check"]] {
            let r = try w.lifeboat(command, environment: ["LIFEBOAT_PASSWORD": "not the password"])
            expectCLIFailure(r, code: 12, mentions: ["wrong password", w.repo])
            #expect(r.stderr.contains("hint:"), "\(r.summary)")
        }
        #expect(w.repoHash == before)
        #expect(!FileManager.default.fileExists(atPath: w.path("t/a.txt")))
    }

    @Test func notARepositoryExits10() throws {
        let w = try CLIWorkspace()
        // A missing directory, an empty one and one with unrelated files.
        let empty = w.path("empty"), junk = w.path("junk")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try w.write("junk/notes.txt", "not a repository")
        let junkBefore = CLIWorkspace.hashTree(junk)
        for location in [w.path("missing"), empty, junk] {
            for command in [["snapshots"], ["backup", "."], ["check"], ["restore", "latest", "--target", w.path("t")]] {
                let r = try CLIRunner.run(["-r", location] + command, environment: w.env, directory: w.source)
                expectCLIFailure(r, code: 10, mentions: ["no repository", location])
                #expect(r.stderr.contains("lifeboat init"), "hint missing: \(r.summary)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: w.path("missing")))
        #expect(CLIWorkspace.hashTree(empty).isEmpty)
        #expect(CLIWorkspace.hashTree(junk) == junkBefore)
    }

    @Test func initTwiceFailsAndLeavesTheRepositoryAlone() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "x")
        try w.backup()
        let before = w.repoHash
        let r = try w.lifeboat(["init"])
        expectCLIFailure(r, code: 1, mentions: ["already exists", w.repo])
        let other = try w.lifeboat(["init"], environment: ["LIFEBOAT_PASSWORD": "another password"])
        expectCLIFailure(other, code: 1, mentions: ["already exists"])
        #expect(w.repoHash == before)
        try w.ok(["check", "--read-data"])
    }

    /// Two snapshots whose data lie in different packs: `a` (snapshot 1) and `b` (snapshot 2).
    /// Returns the pack that holds b's data (the largest pack the second backup added).
    private func twoSnapshots(_ w: CLIWorkspace) throws -> (first: String, second: String, bPack: String, aBytes: [UInt8], bBytes: [UInt8]) {
        try w.initialize()
        var gen = CLISeededBytes(seed: 7)
        let aBytes = gen.bytes(150_000), bBytes = gen.bytes(300_000)
        try w.write("a/a.bin", aBytes)
        try w.write("b/b.bin", bBytes)
        let first = try w.ok(["--json", "backup", "a"]).lastObject()["snapshot_id"] as? String ?? ""
        let packsBefore = Set(w.repoFiles("data"))
        let second = try w.ok(["--json", "backup", "b"]).lastObject()["snapshot_id"] as? String ?? ""
        let added = Set(w.repoFiles("data")).subtracting(packsBefore)
        let bPack = try #require(added.max { cliFileSize($0) < cliFileSize($1) })
        #expect(cliFileSize(bPack) > 300_000)
        return (first, second, bPack, aBytes, bBytes)
    }

    @Test func flippedByteInAPackIsFoundAndContained() throws {
        let w = try CLIWorkspace()
        let s = try twoSnapshots(w)
        var bytes = try #require(w.read(s.bPack))
        bytes[1000] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: s.bPack))
        let packID = String((s.bPack as NSString).lastPathComponent.prefix(8))
        let before = w.repoHash

        try w.ok(["check"])  // structure only: the pack still has the right size
        let check = try w.lifeboat(["check", "--read-data"])
        expectCLIFailure(check, code: 1, mentions: [packID])
        #expect(check.stderr.lowercased().contains("damaged"), "\(check.summary)")

        let restoreB = try w.lifeboat(["restore", s.second, "--target", w.path("tb")])
        expectCLIFailure(restoreB, code: 1, mentions: [packID, "damaged"])
        #expect(restoreB.stderr.contains("check --read-data"), "hint missing: \(restoreB.summary)")

        try w.ok(["restore", s.first, "--target", w.path("ta")])
        #expect(w.read(w.path("ta/a/a.bin")) == s.aBytes)
        #expect(w.repoHash == before)
    }

    @Test func flippedByteInATreePackIsNamed() throws {
        let w = try CLIWorkspace()
        let s = try twoSnapshots(w)
        // Damage every small pack (trees of both snapshots), keep data packs intact.
        let small = w.repoFiles("data").filter { cliFileSize($0) < 100_000 }
        #expect(!small.isEmpty)
        for pack in small {
            var bytes = try #require(w.read(pack))
            bytes[10] ^= 0x02
            try Data(bytes).write(to: URL(fileURLWithPath: pack))
        }
        let before = w.repoHash
        let check = try w.lifeboat(["check", "--read-data"])
        expectCLIFailure(check, code: 1, mentions: small.map { String(($0 as NSString).lastPathComponent.prefix(8)) })
        let restore = try w.lifeboat(["restore", s.second, "--target", w.path("t")])
        expectCLIFailure(restore, code: 1, mentions: ["tree", "damaged"])
        #expect(!FileManager.default.fileExists(atPath: w.path("t/b/b.bin")))
        #expect(w.repoHash == before)
    }

    @Test func interruptedBackupLeavesARepositoryThatChecksClean() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 8)
        for i in 0..<8 { try w.write("f\(i).bin", gen.bytes(3 << 20)) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["-r", w.repo, "backup", "."]
        process.environment = ["LIFEBOAT_PASSWORD": w.password, "LIFEBOAT_WORKERS": "2", "PATH": "/usr/bin:/bin"]
        process.currentDirectoryURL = URL(fileURLWithPath: w.source)
        process.standardOutput = Foundation.FileHandle.nullDevice
        process.standardError = Foundation.FileHandle.nullDevice
        try process.run()
        // Interrupt once the backup is under way: the first pack is stored.
        for _ in 0..<100 where w.repoFiles("data").isEmpty && process.isRunning { usleep(50_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        // Interrupted: restic's exit code 130 after cleaning up (or 0 if it finished first).
        #expect(process.terminationReason == .exit && (process.terminationStatus == 130 || process.terminationStatus == 0),
                "exit \(process.terminationStatus), reason \(process.terminationReason.rawValue)")
        let check = try w.ok(["check", "--read-data"])
        #expect(!check.stderr.contains("error:"), "\(check.summary)")
        #expect(w.repoFiles("locks").isEmpty, "an interrupted backup must remove its lock")
        #expect(!FileManager.default.fileExists(atPath: w.repo + "/.lifeboat-tmp") || CLIWorkspace.hashTree(w.repo + "/.lifeboat-tmp").filter { !$0.key.hasSuffix("/") }.isEmpty,
                "spooled pack files left behind")
        try w.backup()
    }

    @Test func truncatedIndexFileIsNamed() throws {
        let w = try CLIWorkspace()
        let s = try twoSnapshots(w)
        let indexFile = try #require(w.repoFiles("index").first)
        let bytes = try #require(w.read(indexFile))
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: indexFile))
        let indexID = String((indexFile as NSString).lastPathComponent.prefix(8))
        let before = w.repoHash

        let check = try w.lifeboat(["check"])
        expectCLIFailure(check, code: 1, mentions: ["index", indexID])
        let restore = try w.lifeboat(["restore", s.second, "--target", w.path("t")])
        expectCLIFailure(restore, code: 1, mentions: ["index", indexID])
        let dump = try w.lifeboat(["dump", s.second, "/b/b.bin"])
        expectCLIFailure(dump, code: 1, mentions: ["index", indexID])
        #expect(dump.stdout.isEmpty)
        #expect(w.repoHash == before)
    }

    @Test func missingPackIsNamed() throws {
        let w = try CLIWorkspace()
        let s = try twoSnapshots(w)
        try FileManager.default.removeItem(atPath: s.bPack)
        let packID = String((s.bPack as NSString).lastPathComponent.prefix(8))
        let before = w.repoHash

        let check = try w.lifeboat(["check"])
        expectCLIFailure(check, code: 1, mentions: [packID])
        #expect(check.stderr.contains("does not exist"), "\(check.summary)")
        let restore = try w.lifeboat(["restore", s.second, "--target", w.path("tb")])
        expectCLIFailure(restore, code: 1, mentions: [packID])
        #expect(restore.stderr.contains("hint:") && restore.stderr.contains("lifeboat check"), "no hint: \(restore.summary)")
        try w.ok(["restore", s.first, "--target", w.path("ta")])
        #expect(w.read(w.path("ta/a/a.bin")) == s.aBytes)
        #expect(w.repoHash == before)
    }

    @Test func unreadableSourceFileGivesExit3AndASnapshotWithoutIt() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("ok1.txt", "first")
        try w.write("dir/ok2.txt", "second")
        try w.write("secret.txt", "you cannot read me")
        // The backup runs as nobody (tests run as root, which reads everything).
        for p in [w.root, w.repo, w.source] { #expect(chmod(p, 0o755) == 0) }
        let chown = try Process.run(URL(fileURLWithPath: "/bin/chown"), arguments: ["-R", "65534:65534", w.repo, w.source])
        chown.waitUntilExit()
        #expect(chown.terminationStatus == 0)
        #expect(chmod(w.source + "/secret.txt", 0) == 0)

        let r = try w.lifeboat(["backup", "."], asNobody: true)
        expectCLIFailure(r, code: 3, mentions: ["secret.txt", "could not be read"])
        #expect(r.stderr.contains("saved"), "\(r.summary)")

        // --json: the error as a JSON line, then the summary; -q: still the errors, nothing else.
        let json = try w.lifeboat(["--json", "backup", "."], asNobody: true)
        #expect(json.status == 3, "\(json.summary)")
        let lines = json.jsonLines().compactMap { $0 as? [String: Any] }
        #expect(lines.contains { $0["message_type"] as? String == "error" && "\($0)".contains("secret.txt") }, "\(json.summary)")
        #expect(lines.last?["message_type"] as? String == "summary" && lines.last?["snapshot_id"] != nil, "\(json.summary)")
        let quiet = try w.lifeboat(["-q", "backup", "."], asNobody: true)
        #expect(quiet.status == 3 && quiet.stdout.isEmpty && quiet.stderr.contains("secret.txt"), "\(quiet.summary)")
        #expect(w.repoFiles("snapshots").count == 3)

        let ls = try w.ok(["ls", "latest", "--recursive"])
        #expect(ls.out.contains("ok1.txt") && ls.out.contains("ok2.txt"), "\(ls.summary)")
        #expect(!ls.out.contains("secret.txt"), "the unreadable file must not be in the snapshot: \(ls.summary)")
        try w.ok(["restore", "latest", "--target", w.path("t")])
        #expect(w.read(w.path("t/ok1.txt")) == Array("first".utf8))
        #expect(w.read(w.path("t/dir/ok2.txt")) == Array("second".utf8))
        #expect(!FileManager.default.fileExists(atPath: w.path("t/secret.txt")))
        try w.ok(["check", "--read-data"])
    }

    @Test func restoreIntoANonEmptyTargetRefusesUnlessOverwrite() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "from the snapshot")
        try w.write("sub/b.txt", "also from the snapshot")
        try w.backup()
        let target = w.path("t")
        try w.write("a.txt", "precious local edit", in: target)
        let before = w.repoHash

        let r = try w.lifeboat(["restore", "latest", "--target", target])
        expectCLIFailure(r, code: 1, mentions: ["already contains", "a.txt", "--overwrite"])
        #expect(w.read(target + "/a.txt") == Array("precious local edit".utf8))
        #expect(!FileManager.default.fileExists(atPath: target + "/sub/b.txt"), "restore must not start when it refuses")

        try w.ok(["restore", "latest", "--target", target, "--overwrite"])
        #expect(w.read(target + "/a.txt") == Array("from the snapshot".utf8))
        #expect(w.read(target + "/sub/b.txt") == Array("also from the snapshot".utf8))
        #expect(w.repoHash == before)
    }

    @Test func badPointInTime() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "x")
        try w.backup()
        let before = w.repoHash
        for bad in ["yesterday", "2026-13-01T00:00:00Z", "2026-11-01"] {
            let r = try w.lifeboat(["restore", "latest", "--at", bad, "--target", w.path("t")])
            expectCLIFailure(r, code: 1, mentions: ["--at", bad, "RFC 3339"])
        }
        let early = try w.lifeboat(["restore", "latest", "--at", "2001-01-01T00:00:00Z", "--target", w.path("t")])
        expectCLIFailure(early, code: 1, mentions: ["no snapshot", "2001-01-01"])
        #expect(!FileManager.default.fileExists(atPath: w.path("t/a.txt")))
        #expect(w.repoHash == before)
    }

    @Test func ambiguousAndUnknownSnapshotPrefixes() async throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "x")
        let first = try w.backup().id
        // Add snapshots (same tree, other times) until two IDs share their first hex digit.
        let repository = try await Repository.open(backend: LocalBackend(path: w.repo), password: Array(w.password.utf8))
        let base = try await repository.loadSnapshot(try #require(ID(hex: first)))
        var ids = [first]
        var shared: Character?
        var second = 1
        while shared == nil {
            var s = base
            s.time = Timestamp(seconds: base.time.seconds + Int64(second))
            second += 1
            let id = try await repository.saveSnapshot(s).hex
            if ids.contains(where: { $0.first == id.first }) { shared = id.first }
            ids.append(id)
        }
        let before = w.repoHash
        let prefix = String(shared!)
        let ambiguous = try w.lifeboat(["restore", prefix, "--target", w.path("t")])
        expectCLIFailure(ambiguous, code: 1, mentions: ["ambiguous", prefix])
        let unknownPrefix = try #require("0123456789abcdef".map { String($0) + "f0f0" }.first { p in !ids.contains { $0.hasPrefix(p) } })
        let unknown = try w.lifeboat(["dump", unknownPrefix, "/a.txt"])
        expectCLIFailure(unknown, code: 1, mentions: ["no snapshot", unknownPrefix])
        let garbage = try w.lifeboat(["ls", "not-an-id"])
        expectCLIFailure(garbage, code: 1, mentions: ["not-an-id"])
        #expect(!FileManager.default.fileExists(atPath: w.path("t")))
        #expect(w.repoHash == before)
    }

    @Test func staleLockOfADeadProcessBlocksUntilUnlock() async throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "x")
        // A PID that existed and is gone.
        let gone = try Process.run(URL(fileURLWithPath: "/bin/true"), arguments: [])
        gone.waitUntilExit()
        let deadPID = gone.processIdentifier
        #expect(kill(deadPID, 0) != 0)
        let repository = try await Repository.open(backend: LocalBackend(path: w.repo), password: Array(w.password.utf8))
        let info = LockInfo(time: .now(), exclusive: true, hostname: currentHostname(), username: "ghost", pid: deadPID)
        _ = try await repository.saveUnpacked(.lock, json: info.encoded())
        let before = w.repoHash

        let r = try w.lifeboat(["backup", "."])
        expectCLIFailure(r, code: 11, mentions: ["locked", "ghost", "PID \(deadPID)", "lifeboat unlock"])
        #expect(w.repoHash == before, "a refused backup must not write anything")
        #expect(w.repoFiles("snapshots").isEmpty)

        let unlock = try w.ok(["unlock"])
        #expect(unlock.out.contains("removed 1 lock"), "\(unlock.summary)")
        #expect(w.repoFiles("locks").isEmpty)
        try w.backup()
        #expect(w.repoFiles("snapshots").count == 1)
    }
}

func cliFileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

/// Data that the index does not know about must make restore fail, not leave holes.
@Suite("CLI bad input: crafted repositories", .serialized)
struct BadInputCraftedTests {
    @Test func dataBlobMissingFromTheIndexFailsRestore() async throws {
        let w = try CLIWorkspace()
        let crafted = try await SecurityTests.CLICraftedRepository(path: w.repo, password: w.password)
        // The data blob goes through a second saver whose index is never written.
        let orphanSaver = BlobSaver(repository: crafted.repository, index: MasterIndex())
        let text = Array("content the index forgot".utf8)
        let dataID = SHA256.hash(text)
        _ = try text.withUnsafeBytes { try orphanSaver.save(.data, id: dataID, plaintext: $0, cipher: crafted.cipher) }
        try orphanSaver.flush(cipher: crafted.cipher)
        orphanSaver.finishInput()
        try await orphanSaver.runUploads()
        var node = Node(name: Array("lost.txt".utf8), type: .file, mode: 0o644, mtime: .now(), atime: .now(), ctime: .now())
        node.content = [dataID]
        node.size = UInt64(text.count)
        let root = try crafted.tree([node, try crafted.file(Array("fine.txt".utf8), "fine")])
        _ = try await crafted.snapshot(root, time: 1_800_000_000)
        let before = w.repoHash

        let r = try w.lifeboat(["restore", "latest", "--target", w.path("t")])
        expectCLIFailure(r, code: 1, mentions: [dataID.short])
        let lost = w.read(w.path("t/lost.txt"))
        #expect(lost == nil || lost == text, "restore left a file with wrong content: \(lost.map { String(decoding: $0, as: UTF8.self) } ?? "")")
        let dump = try w.lifeboat(["dump", "latest", "/lost.txt"])
        expectCLIFailure(dump, code: 1, mentions: [dataID.short])
        let check = try w.lifeboat(["check"])
        expectCLIFailure(check, code: 1, mentions: [dataID.short])
        #expect(w.repoHash == before)
    }
}

@Suite("CLI bad input: more cases", .serialized)
struct BadInputMoreTests {
    @Test(arguments: ["start", "header"])
    func flippedByteAnywhereInAPackIsFoundByReadData(_ where_: String) throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 5)
        try w.write("f.bin", gen.bytes(200_000))
        try w.backup()
        let pack = try #require(w.repoFiles("data").max { cliFileSize($0) < cliFileSize($1) })
        var bytes = try #require(w.read(pack))
        let offset = where_ == "start" ? 0 : bytes.count - 2
        bytes[offset] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        let before = w.repoHash
        let r = try w.lifeboat(["check", "--read-data"])
        expectCLIFailure(r, code: 1, mentions: [String((pack as NSString).lastPathComponent.prefix(8))])
        let subset = try w.lifeboat(["check", "--read-data-subset", "100%"])
        expectCLIFailure(subset, code: 1, mentions: [String((pack as NSString).lastPathComponent.prefix(8))])
        #expect(w.repoHash == before)
    }

    @Test func dumpOfADamagedFileFails() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 6)
        try w.write("f.bin", gen.bytes(200_000))
        try w.backup()
        let pack = try #require(w.repoFiles("data").max { cliFileSize($0) < cliFileSize($1) })
        var bytes = try #require(w.read(pack))
        bytes[5000] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        let r = try w.lifeboat(["dump", "latest", "/f.bin"])
        expectCLIFailure(r, code: 1, mentions: ["damaged", String((pack as NSString).lastPathComponent.prefix(8))])
    }

    /// One damaged snapshot file is reported, and must not block listing, restoring the
    /// others, or further backups (restic skips it the same way; `check` reports it).
    @Test func damagedSnapshotFileIsNamedAndDoesNotBlockTheOthers() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "first")
        let good = try w.backup().id
        try w.write("a.txt", "second")
        let bad = try w.backup().id
        let file = w.repo + "/snapshots/" + bad
        var bytes = try #require(w.read(file))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let before = w.repoHash
        let badShort = String(bad.prefix(8))

        let list = try w.lifeboat(["snapshots"])
        #expect(list.status == 0, "\(list.summary)")
        #expect(list.out.contains(String(good.prefix(8))), "\(list.summary)")
        #expect(list.stderr.contains("warning:") && list.stderr.contains(badShort), "\(list.summary)")
        let json = try w.ok(["--json", "snapshots"]).jsonLines()
        #expect(((json.first as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String } == [good])

        try w.ok(["restore", String(good.prefix(10)), "--target", w.path("t1")])
        #expect(w.read(w.path("t1/a.txt")) == Array("first".utf8))
        try w.ok(["restore", "latest", "--target", w.path("t2")])
        #expect(w.read(w.path("t2/a.txt")) == Array("first".utf8), "latest is the newest snapshot that can be read")
        let restoreBad = try w.lifeboat(["restore", bad, "--target", w.path("t3")])
        expectCLIFailure(restoreBad, code: 1, mentions: [badShort, "damaged"])
        let check = try w.lifeboat(["check"])
        expectCLIFailure(check, code: 1, mentions: [badShort])
        #expect(w.repoHash == before)

        try w.write("a.txt", "third")
        let next = try w.backup()
        #expect(next.summary["parent"] as? String == good, "the parent is the newest readable snapshot")
        try w.ok(["restore", "latest", "--target", w.path("t4")])
        #expect(w.read(w.path("t4/a.txt")) == Array("third".utf8))
    }

    @Test func damagedConfigAndKeys() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        let config = w.repo + "/config"
        let original = try #require(w.read(config))
        try Data(original.prefix(10)).write(to: URL(fileURLWithPath: config))
        let r = try w.lifeboat(["snapshots"])
        expectCLIFailure(r, code: 1, mentions: ["config"])
        try Data(original).write(to: URL(fileURLWithPath: config))

        // A key file that is not JSON: no key opens, so the password is reported as wrong.
        let key = try #require(w.repoFiles("keys").first)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: key))
        let k = try w.lifeboat(["snapshots"])
        #expect(k.status == 12 || k.status == 1, "\(k.summary)")
        #expect(k.stderr.contains("error:"), "\(k.summary)")
    }

    @Test func emptyPasswordIsRefused() throws {
        let w = try CLIWorkspace()
        let file = w.path("empty-pw")
        try Data().write(to: URL(fileURLWithPath: file))
        let r = try w.lifeboat(["--password-file", file, "init"], environment: [:])
        expectCLIFailure(r, code: 1, mentions: ["empty password"])
        #expect(!FileManager.default.fileExists(atPath: w.repo + "/config"))
        let env = try w.lifeboat(["init"], environment: ["LIFEBOAT_PASSWORD": ""])
        expectCLIFailure(env, code: 1, mentions: ["empty password"])
        #expect(!FileManager.default.fileExists(atPath: w.repo + "/config"))
    }

    @Test func backupOfAMissingPathIsNamed() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        let before = w.repoHash
        let r = try w.lifeboat(["backup", w.path("does-not-exist")])
        #expect(r.status == 1, "\(r.summary)")
        #expect(r.stderr.contains("does-not-exist"), "\(r.summary)")
        #expect(w.repoFiles("snapshots").isEmpty)
        #expect(w.repoHash == before)
    }

    @Test func repositoryPathThatIsAFile() throws {
        let w = try CLIWorkspace()
        try w.write("plain", "not a directory", in: w.root)
        let r = try CLIRunner.run(["-r", w.path("plain"), "snapshots"], environment: w.env)
        expectCLIFailure(r, code: 10, mentions: [w.path("plain")])
        let i = try CLIRunner.run(["-r", w.path("plain"), "init"], environment: w.env)
        expectCLIFailure(i, code: 1, mentions: [w.path("plain")])
        #expect(w.read(w.path("plain")) == Array("not a directory".utf8))
    }

    @Test func badOptionValues() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "a")
        try w.backup()
        let before = w.repoHash
        expectCLIFailure(try w.lifeboat(["check", "--read-data-subset", "7/3"]), code: 1, mentions: ["7/3"])
        expectCLIFailure(try w.lifeboat(["check", "--read-data-subset", "abc"]), code: 1, mentions: ["abc"])
        expectCLIFailure(try w.lifeboat(["backup", "--exclude-file", w.path("nope"), "."]), code: 1, mentions: [w.path("nope")])
        expectCLIFailure(try w.lifeboat(["backup", "--time", "noon", "."]), code: 1, mentions: ["noon"])
        expectCLIFailure(try w.lifeboat(["backup", "--parent", "ffffffffff", "."]), code: 1, mentions: ["ffffffffff"])
        expectCLIFailure(try w.lifeboat(["cat", "blob", "abc"]), code: 1, mentions: ["64 hex"])
        // The message names the first component that is missing.
        expectCLIFailure(try w.lifeboat(["ls", "latest", "/no/such/path"]), code: 1, mentions: ["/no", "does not exist"])
        expectCLIFailure(try w.lifeboat(["dump", "latest", "/missing.txt"]), code: 1, mentions: ["missing.txt"])
        let usage = try w.lifeboat(["backup", "--no-such-option", "."])
        #expect(usage.status != 0, "\(usage.summary)")
        #expect(usage.stderr.contains("no-such-option"), "\(usage.summary)")
        #expect(w.repoHash == before)
    }

    @Test func dryRunsWriteNothing() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "a")
        try w.backup()
        try w.write("b.txt", "new content")
        let before = w.repoHash
        let dry = try w.ok(["--json", "backup", "--dry-run", "."]).lastObject()
        #expect(dry["dry_run"] as? Bool == true)
        #expect(dry["files_new"] as? Int == 1)
        #expect(dry["snapshot_id"] == nil)
        #expect(w.repoHash == before, "backup --dry-run changed the repository")
        try w.ok(["restore", "latest", "--dry-run", "--target", w.path("t")])
        #expect(!FileManager.default.fileExists(atPath: w.path("t/a.txt")))
        #expect(w.repoHash == before)
    }

    @Test func liveLockIsNotRemovedByUnlock() async throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "a")
        let repository = try await Repository.open(backend: LocalBackend(path: w.repo), password: Array(w.password.utf8))
        // This test process is alive: the lock is not stale.
        let info = LockInfo(time: .now(), exclusive: true, hostname: currentHostname(), username: "busy", pid: getpid())
        _ = try await repository.saveUnpacked(.lock, json: info.encoded())
        let r = try w.lifeboat(["backup", "."])
        expectCLIFailure(r, code: 11, mentions: ["busy", "PID \(getpid())"])
        #expect(r.stderr.contains("wait"), "\(r.summary)")
        try w.ok(["unlock"])
        #expect(w.repoFiles("locks").count == 1, "unlock must keep a live lock")
        // Reading commands take shared locks, which an exclusive lock also blocks.
        expectCLIFailure(try w.lifeboat(["snapshots"]), code: 11, mentions: ["busy"])
        try w.ok(["unlock", "--remove-all"])
        #expect(w.repoFiles("locks").isEmpty)
        try w.backup()
    }
}
