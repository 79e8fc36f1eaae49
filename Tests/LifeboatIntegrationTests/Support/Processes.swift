import Foundation
import Glibc
import Testing

/// Where the integration tests find the package, the built `lifeboat`, the real `restic`
/// and the shared test data. Every lookup fails loudly: a missing peer is a test failure,
/// never a skip.
enum Locations {
    /// The package root: this file is `<root>/Tests/LifeboatIntegrationTests/Support/Processes.swift`.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The built `lifeboat` executable: `$LIFEBOAT_BIN`, else `<root>/.build/debug/lifeboat`.
    static func lifeboat() throws -> String {
        let path = env("LIFEBOAT_BIN") ?? packageRoot + "/.build/debug/lifeboat"
        guard access(path, X_OK) == 0 else {
            throw Missing(description: "the lifeboat executable is missing at \(path): run `swift build --build-tests` "
                + "in \(packageRoot) first, or point LIFEBOAT_BIN at it")
        }
        return path
    }

    /// The real `restic`: `$RESTIC_BIN`, else the first `restic` on PATH, else /usr/bin/restic.
    static func restic() throws -> String {
        if let explicit = env("RESTIC_BIN") {
            guard access(explicit, X_OK) == 0 else { throw Missing(description: "RESTIC_BIN=\(explicit) is not executable") }
            return explicit
        }
        let dirs = (env("PATH") ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        for dir in dirs where access(dir + "/restic", X_OK) == 0 { return dir + "/restic" }
        throw Missing(description: "the real restic binary (the interop oracle) is not installed: `apt-get install restic` "
            + "(or `make test`, which installs it), or set RESTIC_BIN")
    }

    /// `../shared/testdata` next to the package, or `$LIFEBOAT_SHARED/testdata`
    /// (LIFEBOAT_SHARED names the shared folder itself; the Makefile's SHARED_DIR is a fallback).
    static func sharedTestdata() throws -> String {
        let shared = env("LIFEBOAT_SHARED") ?? env("SHARED_DIR")
        let path = shared.map { $0 + "/testdata" } ?? packageRoot + "/../shared/testdata"
        var st = stat()
        guard stat(path + "/restic", &st) == 0 else {
            throw Missing(description: "shared test data not found at \(path)/restic (set LIFEBOAT_SHARED to the shared folder)")
        }
        return path
    }

    static func env(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let s = String(cString: value)
        return s.isEmpty ? nil : s
    }
}

/// What a finished child process left behind.
struct ProcessResult: CustomStringConvertible {
    let command: [String]
    let status: Int32
    let stdout: Data
    let stderr: Data

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }

    var description: String {
        "`\(command.joined(separator: " "))` exited with \(status)\n--- stdout:\n\(out.suffix(4000))\n--- stderr:\n\(err.suffix(4000))"
    }
}

extension ProcessResult {
    /// A check that found nothing at all to say: exit 0, restic's "no errors were found", no
    /// hints (mixed packs, duplicate index entries, unused blobs) and nothing on stderr.
    var isSpotlessCheck: Bool {
        status == 0 && out.contains("no errors were found") && !out.lowercased().contains("hint")
            && !out.lowercased().contains("error:") && err.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let result: ProcessResult
    var description: String { "command failed: \(result)" }
}

/// Runs programs to completion. Output goes to temporary files (no pipe can fill up and
/// block the child), and the environment is the parent's minus every RESTIC_* and
/// LIFEBOAT_* variable, plus `environment`.
enum Run {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: String? = nil, stdin: String? = nil) throws -> ProcessResult {
        let scratch = try TempDir(prefix: "proc")
        defer { scratch.remove() }
        let outPath = scratch.path + "/stdout", errPath = scratch.path + "/stderr", inPath = scratch.path + "/stdin"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RESTIC_") && !$0.key.hasPrefix("LIFEBOAT_") }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let inHandle = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        try process.run()
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        try? inHandle.close()
        return ProcessResult(command: [executable] + arguments, status: process.terminationStatus,
                             stdout: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(),
                             stderr: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data())
    }

    /// Like `run`, but throws (with the full output) unless the exit code is 0.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                      directory: String? = nil) throws -> ProcessResult {
        let result = try run(executable, arguments, environment: environment, directory: directory)
        guard result.status == 0 else { throw ProcessFailure(result: result) }
        return result
    }
}

/// The real restic on one repository. Every call uses `--no-cache`.
struct Restic {
    let binary: String
    let repository: String
    let password: String

    init(repository: String, password: String) throws {
        binary = try Locations.restic()
        self.repository = repository
        self.password = password
    }

    func run(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        try Run.run(binary, ["--no-cache", "-r", repository] + arguments,
                    environment: ["RESTIC_PASSWORD": password], directory: directory)
    }

    @discardableResult
    func check(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        let result = try run(arguments, directory: directory)
        guard result.status == 0 else { throw ProcessFailure(result: result) }
        return result
    }

    /// IDs of all snapshots, oldest first, from `restic snapshots --json`.
    func snapshotIDs() throws -> [String] {
        try SnapshotList.ids(fromJSON: check(["snapshots", "--json"]).stdout)
    }

    func snapshots() throws -> [SnapshotList.Entry] {
        try SnapshotList.entries(fromJSON: check(["snapshots", "--json"]).stdout)
    }
}

/// The built lifeboat on one repository.
struct Lifeboat {
    let binary: String
    let repository: String
    let password: String

    init(repository: String, password: String) throws {
        binary = try Locations.lifeboat()
        self.repository = repository
        self.password = password
    }

    func run(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        try Run.run(binary, ["-r", repository] + arguments, environment: ["LIFEBOAT_PASSWORD": password], directory: directory)
    }

    @discardableResult
    func check(_ arguments: [String], directory: String? = nil) throws -> ProcessResult {
        let result = try run(arguments, directory: directory)
        guard result.status == 0 else { throw ProcessFailure(result: result) }
        return result
    }

    func snapshotIDs() throws -> [String] {
        try SnapshotList.ids(fromJSON: check(["snapshots", "--json"]).stdout)
    }

    func snapshots() throws -> [SnapshotList.Entry] {
        try SnapshotList.entries(fromJSON: check(["snapshots", "--json"]).stdout)
    }
}

enum SnapshotList {
    struct Entry: Decodable {
        let id: String
        let time: String
        let tree: String
        let parent: String?
        let paths: [String]
        let hostname: String
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// Snapshot IDs from a `snapshots --json` array, in the order listed (by time, as restic does).
    static func ids(fromJSON data: Data) throws -> [String] {
        try entries(fromJSON: data).map(\.id)
    }

    static func entries(fromJSON data: Data) throws -> [Entry] {
        do {
            return try JSONDecoder().decode([Entry].self, from: data)
        } catch {
            throw Malformed(description: "cannot decode snapshots --json output (\(error)): \(String(decoding: data, as: UTF8.self).prefix(2000))")
        }
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
final class TempDir: Sendable {
    let path: String

    init(prefix: String) throws {
        var template = Array("/tmp/lifeboat-it-\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXFailure(call: "mkdtemp", path: "/tmp", code: errno)
        }
        path = String(cString: made)
    }

    func sub(_ name: String) -> String { path + "/" + name }

    /// Removes the directory tree. Restored trees may hold read-only directories, so
    /// permissions are opened up first.
    func remove() {
        TempDir.quietly("/bin/chmod", ["-R", "u+rwx", path])
        TempDir.quietly("/bin/rm", ["-rf", path])
    }

    /// Runs a command with its output discarded (`Run` itself needs a TempDir).
    private static func quietly(_ executable: String, _ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }
}

/// Runs `body` with a temporary directory that is removed afterwards, whatever happens.
func withTempDir<R>(_ prefix: String, _ body: (TempDir) throws -> R) throws -> R {
    let dir = try TempDir(prefix: prefix)
    defer { dir.remove() }
    return try body(dir)
}

/// Unpacks a `.tar.gz` from the shared test data into `directory`.
func unpack(archive: String, into directory: String) throws {
    try Run.check("/bin/tar", ["-xzf", archive, "-C", directory])
}
