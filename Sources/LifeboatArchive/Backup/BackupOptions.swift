public import LifeboatCore
public import LifeboatRepository

/// What to back up and how.
public struct BackupOptions: Sendable {
    /// Paths as the user gave them; the tree mirrors them (`/a/b` → `a/b`, `.` → the listing).
    public var paths: [String]
    public var tags: [String] = []
    public var hostname: String = currentHostname()
    public var excludes: [GlobPattern] = []
    public var oneFileSystem = false
    /// Explicit parent snapshot; otherwise the newest one with the same host and paths.
    public var parent: ID?
    /// Read every file even if the parent snapshot says it is unchanged.
    public var force = false
    /// Compute everything, store nothing.
    public var dryRun = false
    /// Snapshot time; defaults to the start of the backup.
    public var time: Timestamp?
    /// Threads for hashing, compression and encryption.
    public var workers: Int = defaultWorkerCount()
    /// Back up standard input as one file of this name instead of `paths`.
    public var stdinFilename: String?
    /// How new blobs are compressed (`--compression`).
    public var compression: Compression = .auto

    public init(paths: [String]) { self.paths = paths }
}

/// Counts of what a backup saw and did (restic's summary fields).
public struct BackupSummary: Sendable {
    public var snapshotID: ID?
    public var snapshot: Snapshot
    public var parent: ID?
    public var filesNew = 0
    public var filesChanged = 0
    public var filesUnmodified = 0
    public var dirsNew = 0
    public var dirsChanged = 0
    public var dirsUnmodified = 0
    public var totalFiles = 0
    public var totalBytes: UInt64 = 0
    /// Bytes actually read from files (unchanged files are not read).
    public var bytesRead: UInt64 = 0
    public var saved = SaveStatistics()
    /// Items that could not be read; a non-empty list means exit code 3.
    public var errors: [String] = []
    /// Things worth telling (skipped sockets, files changed while read).
    public var warnings: [String] = []
    public var seconds: Double = 0
}

/// Live counters for a progress display; updated by the pipeline, read by the CLI.
public final class BackupProgress: Sendable {
    public struct Counters: Sendable {
        public var filesDone = 0
        public var bytesDone: UInt64 = 0
        public var filesTotal = 0
        public var bytesTotal: UInt64 = 0
        public var scanFinished = false
        public var errors = 0
        public var currentPath = ""
    }
    private let state = Locked(Counters())
    public init() {}
    public var counters: Counters { state.withLock { $0 } }
    func update(_ body: (inout Counters) -> Void) { state.withLock(body) }
}

public func defaultWorkerCount() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 2
    #endif
}

#if canImport(Glibc)
import Glibc
#endif
