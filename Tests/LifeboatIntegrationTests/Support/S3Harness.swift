import Foundation
import Glibc
import Testing

/// A child process started with posix_spawn, output to files; `stop()` kills and reaps it.
/// Servers are never waited on with Foundation's Process (it deadlocks the test pool).
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let logPath: String
    private var reaped = false
    private(set) var status: Int32 = -1

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: String, stdoutPath: String? = nil) throws {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RESTIC_") && !$0.key.hasPrefix("LIFEBOAT_") }
        for (k, v) in environment { env[k] = v }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | (stdoutPath == nil ? O_APPEND : O_TRUNC), 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, envp)
        guard rc == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
        logPath = log
    }

    /// Waits for the child to exit on its own; returns its exit status.
    @discardableResult
    func wait() -> Int32 {
        if reaped { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        reaped = true
        status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return status
    }

    func stop() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        wait()
    }

    deinit { stop() }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Finds a program on PATH (plus pyenv/pip user locations).
func findProgram(_ name: String) -> String? {
    let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        + [home + "/.local/bin", home + "/.pyenv/shims", "/usr/local/bin", "/usr/bin"]
    return dirs.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
}

// freePort() is shared with the etcd tests (Support/EtcdServer.swift).

/// Whether something answers HTTP on 127.0.0.1:port (curl, 1 s).
func answersHTTP(port: Int) -> Bool {
    let r = try? Run.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-m", "1", "http://127.0.0.1:\(port)/"])
    return r?.status == 0
}

/// moto_server on a free loopback port for one test. Missing moto is a failure, never a skip.
final class MotoServer: @unchecked Sendable {
    let port: Int
    let process: Spawned
    let dir: TempDir
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static let credentials = ["AWS_ACCESS_KEY_ID": "lifeboattest", "AWS_SECRET_ACCESS_KEY": "lifeboat/test+secret",
                              "AWS_REGION": "us-east-1"]

    init() throws {
        guard let moto = findProgram("moto_server") else {
            Issue.record("moto_server is not installed: run `scripts/install-deps.sh test` (pip install 'moto[server]') — the S3 tests need it")
            throw HarnessError("moto_server missing")
        }
        dir = try TempDir(prefix: "moto")
        port = try freePort()
        process = try Spawned(moto, ["-H", "127.0.0.1", "-p", String(port)], log: dir.sub("moto.log"))
        for _ in 0..<600 {
            if answersHTTP(port: port) { return }
            usleep(100_000)
        }
        process.stop()
        throw HarnessError("moto_server did not answer on port \(port) within 60 s:\n\(process.log.suffix(2000))")
    }

    func stop() {
        process.stop()
        dir.remove()
    }

    deinit { stop() }

    /// Creates a bucket with a plain PUT (moto does not check signatures by default).
    func createBucket(_ name: String, objectLock: Bool = false) throws {
        var args = ["-sf", "-X", "PUT", "\(endpoint)/\(name)"]
        if objectLock { args += ["-H", "x-amz-bucket-object-lock-enabled: true"] }
        try Run.check("/usr/bin/curl", args)
    }

    /// "MODE RETAIN-UNTIL" of an object as S3 reports it (boto3, which moto brings along).
    func retention(_ bucket: String, _ key: String) throws -> String {
        let script = """
        import boto3, sys
        s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
        h = s3.head_object(Bucket=sys.argv[2], Key=sys.argv[3])
        u = h.get("ObjectLockRetainUntilDate")
        print(h.get("ObjectLockMode"), u.isoformat() if u else None)
        """
        let r = try Run.check("/usr/bin/env", ["python3", "-c", script, endpoint, bucket, key], environment: Self.credentials)
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Keys in a bucket (under `prefix`), via the ListObjectsV2 XML.
    func keys(_ bucket: String, prefix: String = "") throws -> [String] {
        let r = try Run.check("/usr/bin/curl", ["-sf", "\(endpoint)/\(bucket)?list-type=2&max-keys=100000&prefix=\(prefix)"])
        return r.out.components(separatedBy: "<Key>").dropFirst().compactMap { $0.components(separatedBy: "</Key>").first }
    }
}

/// The fault-injecting, request-counting proxy (Support/s3_fault_proxy.py) in front of moto.
final class FaultProxy: @unchecked Sendable {
    let process: Spawned
    let dir: TempDir
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init(upstream: MotoServer, seed: Int, fraction: Double, faults: String = "500,503,stall,cut",
         only: String = "", stall: Double = 4) throws {
        dir = try TempDir(prefix: "proxy")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("s3_fault_proxy.py").path
        process = try Spawned("/usr/bin/env", ["python3", script, "--upstream", "127.0.0.1:\(upstream.port)",
                                               "--port-file", dir.sub("port"), "--stats", dir.sub("stats.json"),
                                               "--seed", String(seed), "--fraction", String(fraction), "--faults", faults,
                                               "--only", only, "--stall", String(stall)], log: dir.sub("proxy.log"))
        var found: Int?
        for _ in 0..<300 {
            if let text = try? String(contentsOfFile: dir.sub("port"), encoding: .utf8), let n = Int(text) { found = n; break }
            usleep(100_000)
        }
        guard let found else {
            process.stop()
            throw HarnessError("the fault proxy did not start:\n\(process.log.suffix(2000))")
        }
        port = found
    }

    func stop() {
        process.stop()
        dir.remove()
    }

    deinit { stop() }

    struct Stats {
        var requests = 0
        var faults = 0
        var byKind: [String: Int] = [:]
        var byMethod: [String: Int] = [:]
    }

    func stats() throws -> Stats {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.sub("stats.json")))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return Stats(requests: json["requests"] as? Int ?? 0, faults: json["faults"] as? Int ?? 0,
                     byKind: json["by_kind"] as? [String: Int] ?? [:], byMethod: json["by_method"] as? [String: Int] ?? [:])
    }
}

/// Runs lifeboat against an S3 endpoint with test credentials and a private cache directory.
struct S3Lifeboat {
    let endpoint: String
    let bucket: String
    let prefix: String
    let work: TempDir
    var extra: [String] = []
    let password = "s3 test password"

    var repository: String { "s3:\(endpoint)/\(bucket)/\(prefix)" }
    var env: [String: String] {
        MotoServer.credentials.merging(["LIFEBOAT_PASSWORD": password, "XDG_CACHE_HOME": work.sub("xdg-cache")]) { $1 }
    }

    func run(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        try Run.run(try Locations.lifeboat(), arguments + ["-r", repository] + extra, environment: env, directory: directory)
    }

    @discardableResult
    func check(_ arguments: [String], directory: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let r = try run(arguments, directory: directory)
        #expect(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        if r.status != 0 { throw ProcessFailure(result: r) }
        return r
    }

    /// The same repository through another endpoint (a proxy).
    func via(_ endpoint: String, extra: [String] = []) -> S3Lifeboat {
        S3Lifeboat(endpoint: endpoint, bucket: bucket, prefix: prefix, work: work, extra: self.extra + extra)
    }

    /// The real restic on the same repository.
    func restic(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        var env = MotoServer.credentials
        env["RESTIC_REPOSITORY"] = repository
        env["RESTIC_PASSWORD"] = password
        return try Run.run(try Locations.restic(), ["--no-cache"] + arguments, environment: env, directory: directory)
    }
}

/// Byte-for-byte comparison of two trees' regular files (paths and contents).
func treesMatch(_ a: String, _ b: String) throws -> Bool {
    let r = try Run.run("/usr/bin/diff", ["-r", "--no-dereference", a, b])
    if r.status != 0 { Issue.record("trees differ: \(a) vs \(b)\n\(r.out.prefix(2000))\(r.err.prefix(2000))") }
    return r.status == 0
}

/// A tree of `files` files with seeded random contents, some shared between seeds.
func makeTree(at root: String, seed: UInt64, files: Int, size: Int, shared: Int = 0) throws {
    try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    func bytes(_ n: Int, seed s: UInt64) -> Data {
        var x = s | 1
        var out = Data(count: n)
        out.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<words.count { x ^= x << 13; x ^= x >> 7; x ^= x << 17; words[i] = x }
        }
        return out
    }
    for i in 0..<files {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let path = root + (i % 2 == 0 ? "/" : "/sub/") + "file\(i)"
        try bytes(size + Int(state >> 54), seed: state).write(to: URL(fileURLWithPath: path))
    }
    for i in 0..<shared {
        try bytes(size * 2, seed: 0xC0FFEE + UInt64(i)).write(to: URL(fileURLWithPath: root + "/shared\(i)"))
    }
}
