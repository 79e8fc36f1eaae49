public import LifeboatCore
public import LifeboatRepository

/// Backs up file trees (or standard input) into a repository.
///
/// Pipeline: one walker thread lists directories, compares with the parent snapshot, reads
/// and chunks changed files; `workers` threads hash, deduplicate, compress and seal chunks
/// into packs; an assembler thread turns finished directories into tree blobs, children
/// before parents; async tasks upload finished packs. Bounded queues between the stages
/// keep memory flat whatever the input size. Packs are stored before the index that names
/// them, and the index before the snapshot.
public struct Archiver: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    /// - Parameter writeGate: packs, index and snapshot wait on it (see
    ///   `Repository.withLockStartingEarly`); reading and chunking go ahead meanwhile.
    public func backup(_ options: BackupOptions, index: MasterIndex, progress: BackupProgress? = nil,
                       writeGate: WriteGate = .alwaysOpen) async throws -> BackupSummary {
        let start = Timestamp.now()
        let clock = MonotonicClock()
        let absolutePaths = options.stdinFilename != nil ? ["/" + options.stdinFilename!] : options.paths.map(absolutePath)

        let parentID = try await findParent(options, absolutePaths: absolutePaths)
        let parentTree: ID? = parentID == nil ? nil : try await repository.loadSnapshot(parentID!).tree

        let saver = BlobSaver(repository: repository, index: index, dryRun: options.dryRun, writeGate: writeGate)
        let walk = BackupWalk(repository: repository, saver: saver, options: options, progress: progress)

        if progress != nil && options.stdinFilename == nil {
            let paths = options.paths
            let excludes = options.excludes
            _ = PipelineThread { Scanner(excludes: excludes, progress: progress!).scan(paths) }
        }

        var summary: BackupSummary
        do {
            summary = try await withThrowingTaskGroup(of: BackupSummary?.self) { group in
                group.addTask {
                    try await saver.runUploads()
                    return nil
                }
                let result = try await withTaskCancellationHandler {
                    try await onDedicatedThread { try walk.run(parentTree: parentTree) }
                } onCancel: {
                    walk.cancel()
                }
                var out: BackupSummary?
                for try await r in group { if let r { out = r } }
                _ = out
                return result
            }
        } catch {
            saver.abandon()
            throw error
        }

        var snapshot = newSnapshot(time: options.time ?? start, tree: summary.snapshot.tree, paths: absolutePaths,
                                   parent: parentID, hostname: options.hostname, tags: options.tags)
        snapshot.excludes = options.excludes.map(\.text)
        summary.saved = saver.statistics
        var s = SnapshotSummary(backupStart: start, backupEnd: .now())
        s.filesNew = UInt64(summary.filesNew)
        s.filesChanged = UInt64(summary.filesChanged)
        s.filesUnmodified = UInt64(summary.filesUnmodified)
        s.dirsNew = UInt64(summary.dirsNew)
        s.dirsChanged = UInt64(summary.dirsChanged)
        s.dirsUnmodified = UInt64(summary.dirsUnmodified)
        s.dataBlobs = UInt64(summary.saved.dataBlobs)
        s.treeBlobs = UInt64(summary.saved.treeBlobs)
        s.dataAdded = summary.saved.bytesAdded
        s.dataAddedPacked = summary.saved.bytesStored
        s.totalFilesProcessed = UInt64(summary.totalFiles)
        s.totalBytesProcessed = summary.totalBytes
        snapshot.summary = s
        summary.snapshot = snapshot
        summary.parent = parentID

        if !options.dryRun {
            _ = try await saver.writeIndex()
            summary.snapshotID = try await repository.saveSnapshot(snapshot)
        }
        summary.seconds = clock.elapsed
        return summary
    }

    /// The newest snapshot of the same host with the same paths (restic's rule).
    private func findParent(_ options: BackupOptions, absolutePaths: [String]) async throws -> ID? {
        if let parent = options.parent { return parent }
        if options.force { return nil }
        let wanted = absolutePaths.sorted()
        // A damaged snapshot cannot be a parent; skipping it costs only re-reading files.
        return try await repository.readableSnapshots().snapshots
            .last { $0.snapshot.hostname == options.hostname && $0.snapshot.paths.sorted() == wanted }?.id
    }
}

public let lifeboatVersion = "0.1.0"

/// A snapshot stamped with who made it (user, uid/gid unless root) and with which program.
func newSnapshot(time: Timestamp, tree: ID, paths: [String], parent: ID?, hostname: String, tags: [String]) -> Snapshot {
    var snapshot = Snapshot(time: time, tree: tree, paths: paths)
    snapshot.parent = parent
    snapshot.hostname = hostname
    snapshot.username = currentUsername()
    let ids = currentIDs()
    snapshot.uid = ids.uid == 0 ? nil : ids.uid
    snapshot.gid = ids.gid == 0 ? nil : ids.gid
    snapshot.tags = tags
    snapshot.programVersion = "lifeboat \(lifeboatVersion)"
    return snapshot
}

func currentIDs() -> (uid: UInt32, gid: UInt32) { (getuid(), getgid()) }

/// Makes a path absolute and lexically clean (no `.`, `..` or doubled slashes).
func absolutePath(_ path: String) -> String {
    var full = path
    if !path.hasPrefix("/") {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let cwd = getcwd(&buffer, buffer.count) != nil
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/"
        full = cwd + "/" + path
    }
    var parts: [Substring] = []
    for part in full.split(separator: "/") {
        if part == "." { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    return "/" + parts.joined(separator: "/")
}

struct MonotonicClock {
    private let start: timespec
    init() {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        start = t
    }
    var elapsed: Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec - start.tv_sec) + Double(t.tv_nsec - start.tv_nsec) / 1e9
    }
}

#if canImport(Glibc)
import Glibc
#endif
