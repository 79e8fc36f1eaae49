import LifeboatCore
public import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// What `execute` did.
public struct PruneResult: Sendable {
    public var packsWritten = 0
    public var blobsRepacked = 0
    public var indexFilesWritten = 0
    public var indexFilesRemoved = 0
    public var packsRemoved = 0
    public var bytesRemoved: UInt64 = 0
    /// Deletions the storage refused because the object is under retention (S3 Object Lock):
    /// skipped and reported; the next prune tries again.
    public var retained: [String] = []
}

/// Carries out a `PrunePlan` in the one order that never loses referenced data:
/// new packs, then the new index (superseding every old index file), then the old index
/// files, then the packs. A crash at any point leaves at worst unreferenced files.
public struct PruneExecutor: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    /// Test hook: `LIFEBOAT_TEST_PRUNE_DELAY_MS` pauses between steps so crash tests can
    /// kill the process inside every phase.
    private static let stepDelay: UInt64 = {
        guard let v = getenv("LIFEBOAT_TEST_PRUNE_DELAY_MS"), let ms = UInt64(String(cString: v)) else { return 0 }
        return ms * 1_000_000
    }()

    private func pause() async throws {
        if Self.stepDelay > 0 { try await Task.sleep(nanoseconds: Self.stepDelay) }
    }

    public func execute(_ plan: PrunePlan, progress: (@Sendable (String) -> Void)? = nil) async throws -> PruneResult {
        var result = PruneResult()
        var newPacks: [IndexFile.Pack] = []
        if !plan.repack.isEmpty {
            progress?("repacking \(plan.repack.count) packs")
            (newPacks, result.blobsRepacked) = try await repack(plan)
            result.packsWritten = newPacks.count
        }
        try await pause()

        // The new index: kept packs whole, plus the new ones.
        progress?("writing the new index")
        var packs = plan.keep.map(\.pack)
        packs += newPacks
        var batches: [[IndexFile.Pack]] = [[]]
        var blobs = 0
        for p in packs {
            if blobs >= 50_000 { batches.append([]); blobs = 0 }
            batches[batches.count - 1].append(p)
            blobs += p.blobs.count
        }
        // Each step's files are independent, so they go in parallel; the steps stay in order.
        let files = batches.enumerated().filter { i, batch in !batch.isEmpty || (i == 0 && !plan.indexFiles.isEmpty) }
        _ = try await inParallel(files) { i, batch in
            // The first file names what it supersedes (restic's rule: the old ones may go).
            _ = try await repository.saveUnpacked(.index, json: IndexFile(supersedes: i == 0 ? plan.indexFiles : [], packs: batch).encoded())
        }
        result.indexFilesWritten = files.count

        progress?("removing old index files")
        let oldIndex = try await removeAll(plan.indexFiles.map { (FileHandle(.index, $0), 0) }, into: &result)
        result.indexFilesRemoved = oldIndex.files

        progress?("removing packs")
        var doomed = plan.remove.map { ($0.pack.id, $0.size) } + plan.repack.map { ($0.pack.id, $0.size) }
        doomed += plan.unindexed.map { ($0.id, $0.size) }
        let removed = try await removeAll(doomed.map { (FileHandle(.pack, $0.0), $0.1) }, into: &result)
        result.packsRemoved = removed.files
        result.bytesRemoved = removed.bytes
        return result
    }

    /// Runs `body` over `items` with the backend's parallelism (one at a time under the
    /// crash-test hook, which pauses after each).
    private func inParallel<T: Sendable, R: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
        let limit = Self.stepDelay > 0 ? 1 : max(4, repository.backend.connections)
        return try await concurrentMap(items, limit: limit) { item in
            let r = try await body(item)
            try await pause()
            return r
        }
    }

    private enum Removal: Sendable { case removed(Int), missing, retained(String) }

    /// Removes files; one already gone is fine, one under retention is noted and kept.
    private func removeAll(_ files: [(FileHandle, Int)], into result: inout PruneResult) async throws -> (files: Int, bytes: UInt64) {
        let backend = repository.backend
        let outcomes = try await inParallel(files) { handle, size -> Removal in
            do {
                try await backend.remove(handle)
                return .removed(size)
            } catch let error as LifeboatError where error.code == .notFound {
                return .missing
            } catch let error as LifeboatError where error.code == .retained {
                return .retained("\(handle.path): \(error.message)")
            }
        }
        var removed = (files: 0, bytes: UInt64(0))
        for outcome in outcomes {
            switch outcome {
            case .removed(let size): removed.files += 1; removed.bytes += UInt64(size)
            case .missing: break
            case .retained(let text): result.retained.append(text)
            }
        }
        return removed
    }

    /// Copies the used blobs of the packs to repack into new packs (verified on the way).
    private func repack(_ plan: PrunePlan) async throws -> ([IndexFile.Pack], Int) {
        let repository = self.repository
        let saver = BlobSaver(repository: repository, index: MasterIndex())
        let wanted = plan.repackBlobs
        let sources = plan.repack.map(\.pack)
        let copied = Locked(0)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await saver.runUploads() }
                group.addTask {
                    defer { saver.finishInput() }
                    // Read packs a few at a time; one writer thread packs their blobs.
                    let writer = WriterBox(BlobWriter(saver: saver))
                    let limit = max(2, repository.backend.connections)
                    var start = 0
                    while start < sources.count {
                        let chunk = Array(sources[start..<min(start + limit, sources.count)])
                        start += limit
                        let loaded = try await concurrentMap(chunk, limit: limit) { pack in
                            (pack, try await repository.backend.load(FileHandle(.pack, pack.id)))
                        }
                        try await blockingIO {
                            let cipher = Cipher(key: repository.masterKey)
                            let decompressor = ZstdDecompressor()
                            var buffers = BlobCodec.Buffers()
                            for (pack, bytes) in loaded {
                                for blob in pack.blobs where wanted.contains(BlobKey(blob.id, blob.type)) {
                                    guard !saver.isKnown(blob.id, type: blob.type) else { continue }
                                    let end = Int(blob.offset) + Int(blob.length)
                                    guard end <= bytes.count else {
                                        throw LifeboatError(.corrupt, "pack \(pack.id.short) is shorter than its index says",
                                                            hint: "run `lifeboat check --read-data` and `lifeboat repair index`")
                                    }
                                    let location = BlobLocation(pack: pack.id, type: blob.type, offset: blob.offset,
                                                                length: blob.length, uncompressedLength: blob.uncompressedLength)
                                    try bytes.withUnsafeBytes { raw in
                                        let sealed = UnsafeRawBufferPointer(rebasing: raw[Int(blob.offset)..<end])
                                        try BlobCodec.open(sealed, id: blob.id, location: location, cipher: cipher,
                                                           decompressor: decompressor, buffers: &buffers) { plain in
                                            // Verified: compressed blobs move as they are; the rest
                                            // are compressed now (format 2).
                                            if blob.uncompressedLength != 0 || repository.version < 2 {
                                                _ = try writer.value.saveSealed(blob.type, id: blob.id, sealed: sealed,
                                                                                uncompressedLength: blob.uncompressedLength,
                                                                                plaintextLength: plain.count)
                                            } else {
                                                _ = try writer.value.save(blob.type, id: blob.id, plaintext: plain)
                                            }
                                        }
                                    }
                                    copied.withLock { $0 += 1 }
                                }
                            }
                        }
                    }
                    try await blockingIO { try writer.value.flush() }
                }
                try await group.waitForAll()
            }
        } catch {
            saver.abandon()
            throw error
        }
        // Every wanted blob must now be in a new pack before anything is deleted.
        let index = saver.index
        for key in wanted where !index.contains(key.id, type: key.type) {
            throw LifeboatError(.internalError, "\(key.type) blob \(key.id.short) was not repacked; nothing was deleted")
        }
        var byPack: [ID: [IndexFile.Blob]] = [:]
        index.forEach { id, l in
            byPack[l.pack, default: []].append(IndexFile.Blob(id: id, type: l.type, offset: l.offset, length: l.length,
                                                             uncompressedLength: l.uncompressedLength))
        }
        let packs = byPack.map { IndexFile.Pack(id: $0.key, blobs: $0.value.sorted { $0.offset < $1.offset }) }
        return (packs.sorted { $0.id < $1.id }, copied.withLock { $0 })
    }
}

/// The writer is used by one thread at a time (the repack loop hands it from one blocking
/// call to the next, never concurrently).
private final class WriterBox: @unchecked Sendable {
    let value: BlobWriter
    init(_ value: BlobWriter) { self.value = value }
}
