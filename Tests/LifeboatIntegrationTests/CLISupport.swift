import Foundation
import Testing
import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// What one run of the `lifeboat` executable produced.
struct CLIResult {
    var status: Int32
    var signaled: Bool
    var stdout: Data
    var stderr: String
    var arguments: [String]

    var out: String { String(decoding: stdout, as: UTF8.self) }

    /// Every non-empty stdout line parsed as JSON (records a failure for a line that is not).
    func jsonLines(sourceLocation: SourceLocation = #_sourceLocation) -> [Any] {
        out.split(separator: "\n").compactMap { line in
            let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
            #expect(parsed != nil, "stdout line of `\(arguments.joined(separator: " "))` is not JSON: \(line)",
                    sourceLocation: sourceLocation)
            return parsed
        }
    }

    /// The last JSON object printed on stdout.
    func lastObject(sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
        let objects = jsonLines(sourceLocation: sourceLocation).compactMap { $0 as? [String: Any] }
        #expect(!objects.isEmpty, "no JSON object on stdout: \(out)\nstderr: \(stderr)", sourceLocation: sourceLocation)
        return objects.last ?? [:]
    }

    var summary: String { "`lifeboat \(arguments.joined(separator: " "))` exited \(status)\(signaled ? " (signal)" : "")\nstdout: \(out.prefix(2000))\nstderr: \(stderr.prefix(2000))" }
}

/// Runs the built `lifeboat` executable.
enum CLIRunner {
    /// The package root, found from this file's location.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `LIFEBOAT_BIN` or `.build/debug/lifeboat`.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["LIFEBOAT_BIN"], !path.isEmpty { return path }
        return packageRoot.appendingPathComponent(".build/debug/lifeboat").path
    }

    /// Runs `lifeboat arguments`. The environment is this process's without any LIFEBOAT_/RESTIC_
    /// variable, plus `environment`. `asUser` runs it as that uid/gid through setpriv.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                    stdin: Data? = nil, asNobody: Bool = false,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let binary = self.binary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("the lifeboat executable is missing at \(binary): run `swift build` first or set LIFEBOAT_BIN",
                         sourceLocation: sourceLocation)
            throw CLITestError("lifeboat executable missing at \(binary)")
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LIFEBOAT_") && !$0.key.hasPrefix("RESTIC_") }
        env["LIFEBOAT_WORKERS"] = "2"
        for (k, v) in environment { env[k] = v }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        let inURL = scratch.appendingPathComponent("in")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
        if asNobody { chmod(scratch.path, 0o777); chmod(outURL.path, 0o666); chmod(errURL.path, 0o666); chmod(inURL.path, 0o644) }

        let process = Process()
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outHandle = try Foundation.FileHandle(forWritingTo: outURL)
        let errHandle = try Foundation.FileHandle(forWritingTo: errURL)
        let inHandle = try Foundation.FileHandle(forReadingFrom: inURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        try process.run()
        process.waitUntilExit()
        try? outHandle.close(); try? errHandle.close(); try? inHandle.close()
        let result = CLIResult(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                               stdout: (try? Data(contentsOf: outURL)) ?? Data(),
                               stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
                               arguments: arguments)
        #expect(!result.signaled, "lifeboat died from a signal: \(result.summary)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error"), "lifeboat crashed: \(result.summary)", sourceLocation: sourceLocation)
        return result
    }
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory with a repository path, a source tree and helpers; removed on deinit.
final class CLIWorkspace {
    let root: String
    let repo: String
    let source: String
    let password = "correct horse battery staple"

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("lifeboat-cli-\(UUID().uuidString)").path
        root = base
        repo = base + "/repo"
        source = base + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    }

    deinit {
        // Make everything removable again (tests chmod files to 000).
        _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwX", root]).waitUntilExit()
        try? FileManager.default.removeItem(atPath: root)
    }

    var env: [String: String] { ["LIFEBOAT_PASSWORD": password] }

    /// Runs lifeboat with `-r repo` and the workspace password; the working directory is the source.
    @discardableResult
    func lifeboat(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil, directory: String? = nil,
                  asNobody: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        try CLIRunner.run(["-r", repo] + arguments, environment: environment ?? env, directory: directory ?? source,
                          stdin: stdin, asNobody: asNobody, sourceLocation: sourceLocation)
    }

    /// Runs lifeboat and expects exit 0.
    @discardableResult
    func ok(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil, directory: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let r = try lifeboat(arguments, environment: environment, stdin: stdin, directory: directory, sourceLocation: sourceLocation)
        #expect(r.status == 0, "\(r.summary)", sourceLocation: sourceLocation)
        if r.status != 0 { throw CLITestError("command failed: \(r.summary)") }
        return r
    }

    func initialize() throws { try ok(["init"]) }

    /// Backs up the source directory (as `.`); returns the snapshot ID from --json.
    @discardableResult
    func backup(_ extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> (id: String, summary: [String: Any]) {
        let r = try ok(["--json", "backup"] + extra + ["."], sourceLocation: sourceLocation)
        let summary = r.lastObject(sourceLocation: sourceLocation)
        return (summary["snapshot_id"] as? String ?? "", summary)
    }

    func write(_ relative: String, _ bytes: [UInt8], in dir: String? = nil) throws {
        let path = (dir ?? source) + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func write(_ relative: String, _ text: String, in dir: String? = nil) throws { try write(relative, Array(text.utf8), in: dir) }

    func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Every file below `dir` (relative path → SHA-256 of its content), symlinks as their target.
    static func hashTree(_ dir: String) -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return out }
        while let rel = walker.nextObject() as? String {
            let full = dir + "/" + rel
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG: out[rel] = SHA256.hash(Array(FileManager.default.contents(atPath: full) ?? Data())).hex
            case S_IFLNK: out[rel] = "-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
            case S_IFDIR: out[rel + "/"] = "dir"
            default: out[rel] = "special"
            }
        }
        return out
    }

    var repoHash: [String: String] { CLIWorkspace.hashTree(repo) }

    /// Files of one type in the repository (`data`, `index`, `snapshots`, `locks`, `keys`).
    func repoFiles(_ type: String) -> [String] {
        let dir = repo + "/" + type
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(dir + "/" + rel) }
        }
        return out.sorted()
    }
}

/// Deterministic pseudo-random bytes (SplitMix64), so test data is the same on every run.
struct CLISeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            var v = next()
            for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
        }
        return Array(out.prefix(count))
    }
}

/// Asserts a clean failure: the exit code, `error:` on stderr and each of `mentions` (case-insensitive).
func expectCLIFailure(_ r: CLIResult, code: Int32, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "expected exit \(code): \(r.summary)", sourceLocation: sourceLocation)
    #expect(r.stderr.contains("error:"), "no `error:` line: \(r.summary)", sourceLocation: sourceLocation)
    let lower = r.stderr.lowercased()
    for m in mentions {
        #expect(lower.contains(m.lowercased()), "stderr does not mention \"\(m)\": \(r.summary)", sourceLocation: sourceLocation)
    }
}
