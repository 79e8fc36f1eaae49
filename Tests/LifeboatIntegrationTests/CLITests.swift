import Foundation
import Testing
import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// Behaviour of the `lifeboat` executable that users and scripts rely on.
@Suite("CLI behaviour", .serialized)
struct CLITests {
    @Test func jsonOutputParses() throws {
        let w = try CLIWorkspace()
        let initialized = try w.ok(["--json", "init"]).lastObject()
        #expect(initialized["message_type"] as? String == "initialized")
        #expect(initialized["version"] as? Int == 2)
        try w.write("a.txt", "alpha")
        try w.write("d/b.txt", "beta")

        let backup = try w.ok(["--json", "backup", "."])
        let summary = backup.lastObject()
        #expect(summary["message_type"] as? String == "summary")
        #expect(summary["files_new"] as? Int == 2)
        let id = try #require(summary["snapshot_id"] as? String)
        #expect(id.count == 64)

        let list = try w.ok(["--json", "snapshots"]).jsonLines()
        #expect(list.count == 1)
        let snapshots = try #require(list.first as? [[String: Any]])
        #expect(snapshots.count == 1)
        #expect(snapshots.first?["id"] as? String == id)

        let ls = try w.ok(["--json", "ls", "latest", "--recursive"])
        let lsLines = ls.jsonLines()
        #expect(!lsLines.isEmpty)
        #expect(ls.out.contains("b.txt"), "\(ls.summary)")

        let restore = try w.ok(["--json", "restore", "latest", "--target", w.path("t")]).lastObject()
        #expect(restore["message_type"] as? String == "summary")
        #expect(restore["files_restored"] as? Int == 2)

        let check = try w.ok(["--json", "check", "--read-data"]).lastObject()
        #expect(check["errors"] as? Int == 0)
        #expect((check["packs_read"] as? Int ?? 0) > 0)

        let snapshotsAfter = try w.ok(["--json", "snapshots", "--latest", "1"]).jsonLines()
        #expect((snapshotsAfter.first as? [Any])?.count == 1)
    }

    @Test func jsonErrorsAreJSONOnStderr() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        let r = try w.lifeboat(["--json", "snapshots"], environment: ["LIFEBOAT_PASSWORD": "wrong"])
        #expect(r.status == 12)
        #expect(r.stdout.isEmpty)
        let line = try #require(r.stderr.split(separator: "\n").last.map(String.init), "\(r.summary)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(r.summary)")
        #expect(object["message_type"] as? String == "exit_error")
        #expect(object["code"] as? Int == 12)
        #expect((object["message"] as? String ?? "").contains("wrong password"))
    }

    @Test func lsLongCatAndVerify() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("dir/file.txt", "twelve bytes")
        let id = try w.backup().id
        let long = try w.ok(["ls", "--long", "--recursive", "latest"])
        let line = try #require(long.out.split(separator: "\n").first { $0.hasSuffix("file.txt") }, "\(long.summary)")
        #expect(line.contains("12") && line.hasPrefix("-rw"), "ls --long line: \(line)")
        // restic's rules: the whole snapshot without DIR; one level with DIR; all below with DIR --recursive.
        #expect(try w.ok(["ls", "latest"]).out.contains("/dir/file.txt"))
        let top = try w.ok(["ls", "latest", "/"])
        #expect(top.out.contains("/dir") && !top.out.contains("file.txt"), "ls DIR lists one level: \(top.summary)")
        #expect(try w.ok(["ls", "latest", "/", "--recursive"]).out.contains("/dir/file.txt"))
        let config = try w.ok(["cat", "config"])
        let object = try #require(try JSONSerialization.jsonObject(with: config.stdout) as? [String: Any])
        #expect(object["version"] as? Int == 2)
        let snapshot = try w.ok(["cat", "snapshot", String(id.prefix(10))])
        #expect((try JSONSerialization.jsonObject(with: snapshot.stdout) as? [String: Any])?["tree"] != nil)
        let verify = try w.ok(["restore", "latest", "--verify", "--target", w.path("t")])
        #expect(verify.out.contains("verified 1 files"), "\(verify.summary)")
    }

    @Test func quietPrintsNothingOnSuccess() throws {
        let w = try CLIWorkspace()
        try w.write("a.txt", "alpha")
        for command in [["-q", "init"], ["-q", "backup", "."], ["-q", "check", "--read-data"],
                        ["-q", "restore", "latest", "--target", w.path("t")], ["-q", "unlock"]] {
            let r = try w.ok(command)
            #expect(r.stdout.isEmpty, "stdout not empty: \(r.summary)")
            #expect(r.stderr.isEmpty, "stderr not empty: \(r.summary)")
        }
        #expect(w.read(w.path("t/a.txt")) == Array("alpha".utf8))
    }

    @Test func excludes() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("keep.txt", "k")
        try w.write("logs/app.log", "l")
        try w.write("deep/x/debug.log", "l")
        try w.write("Build.TMP", "t")
        try w.write("other.tmp", "t")
        try w.write("cache/big.bin", "c")
        try w.write("sub/cache/inner.bin", "c")
        try w.write("sub/kept.bin", "k")
        let excludeFile = w.path("excludes.txt")
        try "# comment line\n\ncache\n".write(toFile: excludeFile, atomically: true, encoding: .utf8)
        try w.ok(["backup", "--exclude", "*.log", "--iexclude", "*.tmp", "--exclude-file", excludeFile, "."])
        try w.ok(["restore", "latest", "--target", w.path("t")])
        let restored = Set(CLIWorkspace.hashTree(w.path("t")).keys.filter { !$0.hasSuffix("/") })
        #expect(restored == ["keep.txt", "sub/kept.bin"])
    }

    @Test func tagHostFiltersAndLatest() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "1")
        let s1 = try w.backup(["--host", "alpha", "--tag", "daily"]).id
        try w.write("a.txt", "2")
        let s2 = try w.backup(["--host", "alpha", "--tag", "daily,db"]).id
        try w.write("a.txt", "3")
        let s3 = try w.backup(["--host", "beta", "--tag", "weekly"]).id

        func ids(_ extra: [String]) throws -> [String] {
            let lines = try w.ok(["--json", "snapshots"] + extra).jsonLines()
            return ((lines.first as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try ids([]) == [s1, s2, s3])
        #expect(try ids(["--host", "alpha"]) == [s1, s2])
        #expect(try ids(["--host", "beta"]) == [s3])
        #expect(try ids(["--tag", "daily"]) == [s1, s2])
        #expect(try ids(["--tag", "daily,db"]) == [s2])
        #expect(try ids(["--tag", "db", "--tag", "weekly"]) == [s2, s3])
        #expect(try ids(["--host", "gamma"]).isEmpty)
        #expect(try ids(["--latest", "1"]) == [s2, s3])
        #expect(try ids(["--latest", "1", "--host", "alpha"]) == [s2])

        // `latest` honours the filters.
        let dumped = try w.ok(["dump", "--host", "alpha", "--tag", "daily", "latest", "/a.txt"])
        #expect(dumped.out == "2")
    }

    @Test func stdinBackupDumpsTheExactBytes() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 42)
        var data = gen.bytes(700_000)
        data += Array(0...255).map(UInt8.init) + Array(repeating: 0, count: 4096)
        try w.ok(["backup", "--stdin", "--stdin-filename", "db.dump"], stdin: Data(data))
        let ls = try w.ok(["ls", "latest"])
        #expect(ls.out.contains("db.dump"), "\(ls.summary)")
        let dumped = try w.ok(["dump", "latest", "/db.dump"])
        #expect(dumped.stdout == Data(data))
        let empty = try w.ok(["--json", "backup", "--stdin", "--stdin-filename", "empty"], stdin: Data())
        #expect(empty.lastObject()["snapshot_id"] != nil)
        #expect(try w.ok(["dump", "latest", "empty"]).stdout.isEmpty)
    }

    @Test func dumpOfADirectoryIsATar() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 3)
        let big = gen.bytes(1_300_000)
        try w.write("sub/a.txt", "alpha\n")
        try w.write("sub/deeper/big.bin", big)
        try w.write("sub/empty.txt", "")
        try w.write("outside.txt", "not in the dump")
        try w.backup()
        let tarPath = w.path("out.tar")
        try w.ok(["dump", "latest", "/sub", "--target", tarPath])
        let list = try CLIRunnerTools.run("/usr/bin/tar", ["-tf", tarPath])
        #expect(list.status == 0, "\(list.output)")
        for name in ["a.txt", "deeper/big.bin", "empty.txt"] {
            #expect(list.output.contains(name), "tar -t lacks \(name): \(list.output)")
        }
        #expect(!list.output.contains("outside.txt"))
        let x = w.path("x")
        try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
        let extract = try CLIRunnerTools.run("/usr/bin/tar", ["-xf", tarPath, "-C", x])
        #expect(extract.status == 0, "\(extract.output)")
        let files = CLIWorkspace.hashTree(x).filter { !$0.key.hasSuffix("/") }
        let expected = CLIWorkspace.hashTree(w.source + "/sub").filter { !$0.key.hasSuffix("/") }
        // The archive may put entries under a `sub/` prefix; compare by the path inside sub.
        let normalized = Dictionary(uniqueKeysWithValues: files.map { k, v in (k.hasPrefix("sub/") ? String(k.dropFirst(4)) : k, v) })
        #expect(normalized == expected)

        // Stdout works too and gives the same archive.
        let piped = try w.ok(["dump", "latest", "/sub"])
        #expect(piped.stdout == FileManager.default.contents(atPath: tarPath))
    }

    @Test func subpathRestore() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("top.txt", "top")
        try w.write("sub/a.txt", "a")
        try w.write("sub/inner/b.txt", "b")
        try w.backup()
        try w.ok(["restore", "latest:sub", "--target", w.path("t")])
        let files = Set(CLIWorkspace.hashTree(w.path("t")).keys.filter { !$0.hasSuffix("/") })
        #expect(files == ["a.txt", "inner/b.txt"])
        try w.ok(["restore", "latest:/sub/inner", "--target", w.path("t2")])
        #expect(w.read(w.path("t2/b.txt")) == Array("b".utf8))
        let missing = try w.lifeboat(["restore", "latest:nope", "--target", w.path("t3")])
        expectCLIFailure(missing, code: 1, mentions: ["nope", "does not exist"])
        // Include within a subpath restore.
        try w.ok(["restore", "latest", "--include", "/sub/inner", "--target", w.path("t4")])
        let t4 = Set(CLIWorkspace.hashTree(w.path("t4")).keys.filter { !$0.hasSuffix("/") })
        #expect(t4 == ["sub/inner/b.txt"])
    }

    @Test func pointInTimePicksTheRightSnapshot() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        let times = ["2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z", "2026-11-01T03:00:00Z"]
        for (i, time) in times.enumerated() {
            try w.write("v.txt", "version \(i + 1)")
            try w.backup(["--time", time])
        }
        let cases: [(String, String)] = [
            ("2026-11-01T01:00:00Z", "version 1"), ("2026-11-01T01:59:59Z", "version 1"),
            ("2026-11-01T02:30:00Z", "version 2"), ("2026-11-01T05:30:00+02:00", "version 3"),
            // 02:30Z and 01:30Z: the offset counts.
            ("2026-11-01T04:30:00+02:00", "version 2"), ("2026-11-01T03:30:00+02:00", "version 1"),
            ("2030-01-01T00:00:00Z", "version 3"),
        ]
        for (i, (at, expected)) in cases.enumerated() {
            let target = w.path("t\(i)")
            try w.ok(["restore", "latest", "--at", at, "--target", target])
            #expect(w.read(target + "/v.txt") == Array(expected.utf8), "--at \(at)")
            #expect(try w.ok(["dump", "--at", at, "latest", "v.txt"]).out == expected, "dump --at \(at)")
        }
    }

    @Test func incrementalBackupReadsNoUnchangedFile() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 11)
        for i in 0..<6 { try w.write("d\(i % 2)/f\(i).bin", gen.bytes(50_000 + i * 1000)) }
        let first = try w.backup().summary
        #expect(first["files_new"] as? Int == 6)
        let second = try w.backup().summary
        #expect(second["files_new"] as? Int == 0)
        #expect(second["files_changed"] as? Int == 0)
        #expect(second["files_unmodified"] as? Int == 6)
        #expect(second["data_added"] as? Int == 0, "an unchanged tree must add nothing: \(second)")
        #expect(second["parent"] as? String == first["snapshot_id"] as? String)

        try w.write("d0/f0.bin", gen.bytes(50_000))
        let third = try w.backup().summary
        #expect(third["files_changed"] as? Int == 1)
        #expect(third["files_unmodified"] as? Int == 5)
        let forced = try w.backup(["--force"]).summary
        #expect(forced["files_unmodified"] as? Int == 0, "--force reads everything: \(forced)")
        #expect(forced["data_blobs"] as? Int == 0, "re-read data is deduplicated: \(forced)")
    }

    @Test func identicalFilesAreStoredOnce() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        var gen = CLISeededBytes(seed: 99)
        let five = gen.bytes(5 << 20)
        try w.write("one.bin", five)
        try w.write("copy/two.bin", five)
        let summary = try w.backup().summary
        let added = try #require(summary["data_added"] as? Int)
        #expect(added >= 5 << 20)
        #expect(added < (5 << 20) + (64 << 10), "the second copy must add no data: added \(added)")
        #expect(summary["total_bytes_processed"] as? Int == 10 << 20)
        let repoBytes = w.repoFiles("data").reduce(0) { $0 + cliFileSize($1) }
        #expect(repoBytes < (5 << 20) + (256 << 10), "stored \(repoBytes) bytes for 5 MiB of unique data")
    }

    @Test func passwordSources() throws {
        let w = try CLIWorkspace()
        let file = w.path("pw.txt")
        try "\(w.password)\nsecond line ignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        try w.ok(["--password-file", file, "init"], environment: [:])
        try w.write("a.txt", "a")
        try w.ok(["backup", "--password-file", file, "."], environment: [:])
        try w.ok(["--password-command", "printf '%s\\n' '\(w.password)'", "snapshots"], environment: [:])
        try w.ok(["snapshots"], environment: ["RESTIC_PASSWORD": w.password])
        try w.ok(["snapshots"], environment: ["LIFEBOAT_PASSWORD_FILE": file])
        try w.ok(["snapshots"], environment: ["RESTIC_PASSWORD_FILE": file])
        // The flag wins over the environment.
        try w.ok(["--password-file", file, "snapshots"], environment: ["LIFEBOAT_PASSWORD": "wrong"])
        let wrongCommand = try w.lifeboat(["--password-command", "echo nope", "snapshots"], environment: [:])
        expectCLIFailure(wrongCommand, code: 12, mentions: ["wrong password"])
        let failingCommand = try w.lifeboat(["--password-command", "exit 4", "snapshots"], environment: [:])
        expectCLIFailure(failingCommand, code: 1, mentions: ["password command", "4"])
        let noPassword = try w.lifeboat(["snapshots"], environment: [:])
        expectCLIFailure(noPassword, code: 1, mentions: ["no password", "LIFEBOAT_PASSWORD"])
        let missingFile = try w.lifeboat(["--password-file", w.path("nope"), "snapshots"], environment: [:])
        expectCLIFailure(missingFile, code: 1, mentions: ["password file", w.path("nope")])
        // RESTIC_REPOSITORY as the location fallback.
        let viaEnv = try CLIRunner.run(["snapshots"], environment: ["RESTIC_REPOSITORY": w.repo, "RESTIC_PASSWORD": w.password])
        #expect(viaEnv.status == 0, "\(viaEnv.summary)")
    }
}

/// Runs a helper tool (tar) and captures its combined output.
enum CLIRunnerTools {
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
