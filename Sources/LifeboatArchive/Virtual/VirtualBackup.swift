public import LifeboatCore
public import LifeboatRepository

/// What a snapshot of a virtual tree records besides the tree.
public struct VirtualSnapshotOptions: Sendable {
    /// The snapshot's `paths` (what restic shows and groups by), e.g. ["/kubernetes/prod"].
    public var paths: [String]
    public var tags: [String] = []
    public var hostname: String = currentHostname()
    public var time: Timestamp?
    public var parent: ID?
    public var dryRun = false
    public var compression: Compression = .auto

    public init(paths: [String]) { self.paths = paths }
}

public struct VirtualBackupResult: Sendable {
    /// nil for a dry run.
    public var snapshotID: ID?
    public var snapshot: Snapshot
    public var saved: SaveStatistics
    public var files: Int
    public var bytes: UInt64
}

/// Stores a snapshot whose files `produce` adds to a `VirtualTreeWriter`.
///
/// `produce` runs on a dedicated thread (it may block: HTTP, chunking); it may hand the writer
/// to more threads of its own. Uploads run concurrently. Nothing is committed if `produce`
/// throws: packs already uploaded stay unreferenced until the next prune, and no index or
/// snapshot names them.
public func backupVirtualTree(repository: Repository, index: MasterIndex, options: VirtualSnapshotOptions,
                              produce: @escaping @Sendable (VirtualTreeWriter) throws -> Void) async throws -> VirtualBackupResult {
    let start = Timestamp.now()
    let saver = BlobSaver(repository: repository, index: index, dryRun: options.dryRun)
    let writer = VirtualTreeWriter(repository: repository, saver: saver, compression: options.compression)
    let tree: ID
    do {
        tree = try await withThrowingTaskGroup(of: ID?.self) { group in
            group.addTask {
                try await saver.runUploads()
                return nil
            }
            group.addTask {
                defer { saver.finishInput() }
                return try await onDedicatedThread {
                    try produce(writer)
                    try Task.checkCancellation()
                    return try writer.finish()
                }
            }
            var root: ID?
            for try await id in group where id != nil { root = id }
            return root!
        }
    } catch {
        saver.abandon()
        throw error
    }

    var snapshot = newSnapshot(time: options.time ?? start, tree: tree, paths: options.paths,
                               parent: options.parent, hostname: options.hostname, tags: options.tags)
    let saved = saver.statistics
    var summary = SnapshotSummary(backupStart: start, backupEnd: .now())
    summary.filesNew = UInt64(writer.fileCount)
    summary.dataBlobs = UInt64(saved.dataBlobs)
    summary.treeBlobs = UInt64(saved.treeBlobs)
    summary.dataAdded = saved.bytesAdded
    summary.dataAddedPacked = saved.bytesStored
    summary.totalFilesProcessed = UInt64(writer.fileCount)
    summary.totalBytesProcessed = writer.byteCount
    snapshot.summary = summary

    var id: ID?
    if !options.dryRun {
        _ = try await saver.writeIndex()
        id = try await repository.saveSnapshot(snapshot)
    }
    return VirtualBackupResult(snapshotID: id, snapshot: snapshot, saved: saved,
                               files: writer.fileCount, bytes: writer.byteCount)
}
