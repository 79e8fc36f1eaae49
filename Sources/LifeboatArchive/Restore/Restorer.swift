public import LifeboatCore
public import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

public struct RestoreOptions: Sendable {
    public var target: String
    public var filter = PathFilter()
    /// Restore only this subtree of the snapshot (`SNAPSHOT:subpath`).
    public var subpath: [[UInt8]] = []
    /// Re-read every restored file afterwards and compare it with the snapshot.
    public var verify = false
    /// Replace files that already exist in the target.
    public var overwrite = false
    public var dryRun = false
    /// Pack reads (runs of up to a few MiB) decoded and written at once.
    public var workers: Int = max(2, defaultWorkerCount())
    /// Items (files, links, special files) per batch. Memory holds the batch being restored
    /// and the one being planned; each pack is read about once per batch.
    public var batchSize = 10_000
    /// Files of this size or larger are written with `O_DIRECT` (whole aligned blocks; the
    /// ends of each run through the page cache), where the file system allows it; nil
    /// writes everything through the page cache.
    public var directWriteMinimumSize: UInt64? = 64 << 20

    public init(target: String) { self.target = target }
}

public struct RestoreSummary: Sendable {
    public var files = 0
    public var directories = 0
    public var otherItems = 0
    public var bytes: UInt64 = 0
    public var warnings: [String] = []
    public var verifiedFiles = 0
    public var seconds: Double = 0
}

public final class RestoreProgress: Sendable {
    public struct Counters: Sendable {
        public var filesDone = 0, filesTotal = 0
        public var bytesDone: UInt64 = 0, bytesTotal: UInt64 = 0
    }
    private let state = Locked(Counters())
    public init() {}
    public var counters: Counters { state.withLock { $0 } }
    func update(_ body: (inout Counters) -> Void) { state.withLock(body) }
}

/// Restores a snapshot (or part of it) into a directory.
///
/// Every pack is read once, its needed blobs in offset order; blobs are verified (MAC and
/// SHA-256), decompressed and written with positioned writes into every place they belong,
/// several packs at a time. All-zero blocks become holes. Names from the repository are
/// validated and every file is created relative to the target without following symlinks,
/// so a crafted snapshot cannot write outside the target.
public struct Restorer: Sendable {
    public let repository: Repository
    public let index: MasterIndex

    public init(repository: Repository, index: MasterIndex) {
        self.repository = repository
        self.index = index
    }

    public func restore(tree rootTree: ID, options: RestoreOptions, progress: RestoreProgress? = nil) async throws -> RestoreSummary {
        let clock = MonotonicClock()
        var treeID = rootTree
        // Descend to the subpath first.
        for (depth, name) in options.subpath.enumerated() {
            let tree = try await repository.loadTree(treeID, index: index)
            guard let node = tree.node(named: name) else {
                throw LifeboatError(.notFound, "\(display(Array(options.subpath[...depth]))) does not exist in the snapshot")
            }
            guard node.type == .dir, let subtree = node.subtree else {
                throw LifeboatError(.invalidArgument, "\(display(Array(options.subpath[...depth]))) is not a directory",
                                    hint: "use `lifeboat dump` for a single file, or --include")
            }
            treeID = subtree
        }
        let planner = RestorePlanner(repository: repository, index: index, filter: options.filter,
                                     batchSize: max(1, options.batchSize))
        let top = treeID
        // Totals for the progress line's ETA come from a second walk of the trees, beside the
        // restore rather than before it, so the first file is written without waiting for it.
        async let totals: Void = {
            guard let progress else { return }
            var files = 0
            var bytes: UInt64 = 0
            _ = try? await planner.run(tree: top, snapshotPrefix: options.subpath) { plan in
                for item in plan.items where item.node.type == .file && !item.isHardLink {
                    files += 1
                    bytes += item.node.size ?? 0
                }
            }
            progress.update { [files, bytes] in $0.filesTotal = files; $0.bytesTotal = bytes }
        }()
        var summary = RestoreSummary()
        let target = options.dryRun ? nil : try RestoreTarget(root: RawPath(options.target))
        let owner = RestoreFile.isRoot
        var created = Set<Int>()  // directories already made on disk
        // An empty target holds nothing to overwrite (and later batches only find what
        // earlier ones wrote): then no item needs looking up.
        let mustCheckConflicts = !options.overwrite && (try? Directory.entries(of: RawPath(options.target)).isEmpty) != true
        // Batch k is restored while batch k + 1 is planned (trees loaded and decoded), so
        // the planner's core is not idle while data is written, nor the other way round.
        let restoring = BatchInFlight()
        let plan: RestorePlan
        do {
            plan = try await withTaskCancellationHandler {
                try await planner.run(tree: top, snapshotPrefix: options.subpath) { plan in
                    for item in plan.items {
                        if item.node.type == .file { summary.files += 1; summary.bytes += item.node.size ?? 0 } else { summary.otherItems += 1 }
                    }
                    guard let target else { return }
                    if mustCheckConflicts { try refuseExisting(plan, targetRoot: options.target) }
                    for i in plan.items.indices { try makeDirectories(above: Int(plan.items[i].parent), plan: plan, target: target, created: &created) }
                    let batch = plan
                    // One batch at a time: a hard link may point at a file of the previous one.
                    try await restoring.replace {
                        let warnings = try await restoreBatch(batch, target: target, owner: owner, options: options, progress: progress)
                        let verified = options.verify ? try await Verifier(targetRoot: options.target).verify(batch) : 0
                        return BatchResult(warnings: warnings, verifiedFiles: verified)
                    }
                }
            } onCancel: {
                restoring.cancel()
            }
        } catch {
            restoring.cancel()
            _ = try? await restoring.finish()  // nothing may still write once restore has returned
            throw error
        }
        let last = try await restoring.finish()
        var warnings = last.warnings
        summary.verifiedFiles = last.verifiedFiles
        summary.directories = plan.directories.count
        if let target {
            // Selected directories with nothing restored in them (empty ones) exist too; then
            // directory metadata, deepest first, so writing inside them cannot undo it.
            for d in plan.directories.indices { try makeDirectories(above: d, plan: plan, target: target, created: &created) }
            for d in plan.directories.indices.reversed() {
                warnings += try target.applyMetadata(plan.directoryComponents(d), node: plan.directories[d].node, owner: owner)
            }
        }
        await totals
        summary.warnings = warnings
        summary.seconds = clock.elapsed
        return summary
    }

    /// Creates directory `d` and its missing ancestors, outermost first.
    private func makeDirectories(above d: Int, plan: RestorePlan, target: RestoreTarget, created: inout Set<Int>) throws {
        var chain: [Int] = []
        var current = d
        while current >= 0 && !created.contains(current) {
            chain.append(current)
            current = Int(plan.directories[current].parent)
        }
        for dir in chain.reversed() {
            try target.createDirectory(plan.directoryComponents(dir))
            created.insert(dir)
        }
    }

    /// Restores one batch of items: links and special files, file data pack by pack, hard
    /// links, then the metadata of links and special files.
    private func restoreBatch(_ plan: RestorePlan, target: RestoreTarget, owner: Bool, options: RestoreOptions,
                              progress: RestoreProgress?) async throws -> [String] {
        var warnings: [String] = []
        for (i, item) in plan.items.enumerated() {
            switch item.node.type {
            case .symlink: try target.createSymlink(plan.components(i), target: item.node.linkTarget ?? [])
            case .fifo, .charDevice, .blockDevice: warnings += try target.createSpecial(plan.components(i), node: item.node)
            default: break
            }
        }
        let writer = FileWriter(plan: plan, target: target, owner: owner, progress: progress,
                                directMinimumSize: options.directWriteMinimumSize)
        try await writer.writeEmptyFiles()
        try await restoreData(plan: plan, writer: writer, workers: options.workers)
        warnings += writer.warnings
        for (i, item) in plan.items.enumerated() where item.isHardLink {
            try target.createHardLink(plan.components(i), to: item.linkTo!)
        }
        for (i, item) in plan.items.enumerated() where [.symlink, .fifo, .charDevice, .blockDevice].contains(item.node.type) {
            warnings += try target.applyMetadata(plan.components(i), node: item.node, owner: owner)
        }
        return warnings
    }

    private func refuseExisting(_ plan: RestorePlan, targetRoot: String) throws {
        var conflicts: [String] = []
        for i in plan.items.indices {
            let path = rawPath(root: targetRoot, plan.components(i))
            if (try? FileStatus.lstat(path)) != nil { conflicts.append(path.display) }
            if conflicts.count >= 5 { break }
        }
        guard conflicts.isEmpty else {
            throw LifeboatError(.invalidArgument, "the restore target already contains files the snapshot would overwrite: "
                                + conflicts.joined(separator: ", ") + (conflicts.count >= 5 ? ", …" : ""),
                                hint: "restore into an empty directory, or pass --overwrite to replace them")
        }
    }

    /// Compressed blobs are decompressed and written this much at a time: a read task then
    /// needs this, not the largest blob (8 MiB), besides its read buffer.
    static let decompressionWindow = 1 << 20

    /// Groups blob writes by pack, splits each pack into runs read with one request, and
    /// processes `workers` runs at a time.
    private func restoreData(plan: RestorePlan, writer: FileWriter, workers: Int) async throws {
        var byPack: [ID: [BlobWork]] = [:]
        var seen: [ID: (pack: ID, position: Int)] = [:]  // a blob that fills several places is read once
        for (fileIndex, entry) in plan.items.enumerated() where entry.node.type == .file && !entry.isHardLink {
            for chunk in plan.chunks(fileIndex) {
                if let known = seen[chunk.id] {
                    byPack[known.pack]![known.position].targets.append((fileIndex, chunk.offset))
                    continue
                }
                guard let location = index.lookup(chunk.id, type: .data) else { continue }
                // Mutate in place: copying the list out and back would make this quadratic.
                seen[chunk.id] = (location.pack, byPack[location.pack]?.count ?? 0)
                byPack[location.pack, default: []].append(BlobWork(id: chunk.id, location: location, targets: [(fileIndex, chunk.offset)]))
            }
        }
        for (file, count) in takeZeroBlobs(from: &byPack) { try writer.fillZeros(count: count, file: file) }
        // The unit of work is one read (a run of a pack), not a pack: a batch of small
        // files often lies in one or two packs, which would leave a core idle.
        let readSize = repository.backend.preferredReadSize
        let runs = byPack.sorted { $0.key < $1.key }.flatMap { pack, blobs in
            PackRuns.split(blobs.sorted { $0.location.offset < $1.location.offset }, maxRun: readSize).map { (pack: pack, blobs: $0) }
        }
        let repository = self.repository
        let scratches = Locked<[PackScratch]>([])
        _ = try await concurrentMap(runs, limit: workers) { run in
            try Task.checkCancellation()  // Ctrl-C: stop between reads; the lock is removed on the way out
            let scratch = scratches.withLock { $0.popLast() } ?? PackScratch(key: repository.masterKey)
            defer { scratches.withLock { $0.append(scratch) } }
            try await blockingIO {
                let start = Int(run.blobs.first!.location.offset)
                let end = Int(run.blobs.last!.location.offset + run.blobs.last!.location.length)
                do {
                    try repository.backend.loadBlocking(FileHandle(.pack, run.pack), offset: start, length: end - start,
                                                        into: &scratch.bytes)
                } catch let error as LifeboatError {
                    throw LifeboatError(error.code, "cannot read pack \(run.pack.short): \(error.message)",
                                        hint: "run `lifeboat check --read-data` to find all damage", underlying: error)
                }
                for blob in run.blobs {
                    let from = Int(blob.location.offset) - start
                    try scratch.bytes.withUnsafeMutableBytes { raw in
                        try BlobCodec.open(inPlace: UnsafeMutableRawBufferPointer(rebasing: raw[from..<from + Int(blob.location.length)]),
                                           id: blob.id, location: blob.location, cipher: scratch.cipher,
                                           decompressor: scratch.decompressor, buffers: &scratch.buffers,
                                           window: Self.decompressionWindow) { piece, offset in
                            for target in blob.targets {
                                try writer.writePart(piece, file: target.file, offset: target.offset + UInt64(offset),
                                                     bounce: scratch.bounce)
                            }
                        }
                        let length = blob.location.plaintextLength
                        for target in blob.targets { try writer.chunkDone(target.file, bytes: length) }
                    }
                }
            }
            return true
        }
    }
}

private struct BatchResult: Sendable {
    var warnings: [String] = []
    var verifiedFiles = 0
}

/// The one batch being restored while the planner works on the next; sums the results.
private final class BatchInFlight: Sendable {
    private let state = Locked<(task: Task<BatchResult, any Error>?, done: BatchResult, cancelled: Bool)>((nil, BatchResult(), false))

    /// Waits for the batch in flight, then starts `work` as the new one.
    func replace(_ work: @escaping @Sendable () async throws -> BatchResult) async throws {
        try await collect()
        let task = Task { try await work() }
        let cancelled = state.withLock { s -> Bool in
            s.task = task
            return s.cancelled
        }
        if cancelled { task.cancel() }
    }

    /// Waits for the batch in flight; returns the sum of all finished batches.
    func finish() async throws -> BatchResult {
        try await collect()
        return state.withLock { $0.done }
    }

    func cancel() {
        let task = state.withLock { s -> Task<BatchResult, any Error>? in
            s.cancelled = true
            return s.task
        }
        task?.cancel()
    }

    private func collect() async throws {
        guard let task = state.withLock({ $0.task }) else { return }
        let result = await task.result
        state.withLock { s in
            s.task = nil
            if case .success(let r) = result {
                s.done.warnings += r.warnings
                s.done.verifiedFiles += r.verifiedFiles
            }
        }
        _ = try result.get()
    }
}

/// Removes the blobs that hold nothing but zeros and fill two places or more (the free
/// space of a volume image): their IDs say what they hold, so they are not read, and the
/// restored files read as zeros where nothing is written. Only blobs used twice or more
/// are checked, and lengths are remembered (`ZeroChunkIDs`, as in backup), so the check
/// costs less than reading them would.
/// - Returns: the chunks to count as written: (file, byte count).
func takeZeroBlobs(from byPack: inout [ID: [BlobWork]]) -> [(file: Int, count: Int)] {
    let candidates = byPack.values.joined().filter { $0.targets.count >= 2 }
    guard let longest = candidates.map(\.location.plaintextLength).max(), longest > 0 else { return [] }
    let zeros = ZeroPages(count: longest)
    var zeroIDs = ZeroChunkIDs()
    var fills: [(file: Int, count: Int)] = []
    for pack in Array(byPack.keys) {
        byPack[pack]!.removeAll { blob in
            let length = blob.location.plaintextLength
            guard blob.targets.count >= 2, length > 0 else { return false }
            guard blob.id == zeroIDs.id(ofZeros: zeros.bytes(length)) else { return false }
            fills += blob.targets.map { ($0.file, length) }
            return true
        }
        if byPack[pack]!.isEmpty { byPack[pack] = nil }
    }
    return fills
}

/// What a read task reuses, one run at a time, and hands on to the next read task: the
/// read buffer, decode buffers and contexts, so no run or blob gets fresh, zero-filled
/// pages, and memory freed by one pack is not left to the allocator while the next one
/// asks for more (a d2 restore peaked 58–65 MiB with one set per pack).
private final class PackScratch: @unchecked Sendable {
    let cipher: Cipher
    let decompressor = ZstdDecompressor()
    var buffers = BlobCodec.Buffers()
    var bytes: [UInt8] = []
    /// Whole blocks of large files go through it to `O_DIRECT` (allocated on first use).
    lazy var bounce = RestoreFile.Bounce()

    init(key: CryptoKey) { cipher = Cipher(key: key) }
}

struct BlobWork: Sendable {
    var id: ID
    var location: BlobLocation
    var targets: [(file: Int, offset: UInt64)]
}

enum PackRuns {
    /// Splits offset-sorted blobs into runs read with one request each: a gap larger than
    /// 1 MiB, or a run beyond `maxRun` bytes, starts a new request.
    static func split(_ blobs: [BlobWork], maxRun: Int = 4 << 20) -> [[BlobWork]] {
        var runs: [[BlobWork]] = []
        var current: [BlobWork] = []
        var runStart: UInt32 = 0
        var runEnd: UInt32 = 0
        for blob in blobs {
            let gap = Int(blob.location.offset) - Int(runEnd)
            if !current.isEmpty && (gap > 1 << 20 || Int(blob.location.offset + blob.location.length - runStart) > maxRun) {
                runs.append(current)
                current = []
            }
            if current.isEmpty { runStart = blob.location.offset }
            current.append(blob)
            runEnd = max(runEnd, blob.location.offset + blob.location.length)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }
}
