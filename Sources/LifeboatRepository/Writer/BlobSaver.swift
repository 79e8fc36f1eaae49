public import LifeboatCore
import Synchronization
import Dispatch

/// What a backup added to the repository.
public struct SaveStatistics: Sendable, Equatable {
    public var dataBlobs = 0
    public var treeBlobs = 0
    /// Plaintext bytes of new blobs.
    public var bytesAdded: UInt64 = 0
    /// Bytes of new blobs as stored (compressed and sealed).
    public var bytesStored: UInt64 = 0
    public var packs = 0
    public init() {}
}

/// Deduplicates, compresses, seals and packs blobs; uploads finished packs; writes the index.
///
/// Thread-safe: pipeline threads call `save` concurrently, each with its own `Cipher` and
/// `ZstdCompressor`. The expensive work (compression, sealing) runs outside the lock. Packs
/// go to the backend before the index that names them, and the index before any snapshot.
public final class BlobSaver: Sendable {
    public let repository: Repository
    public let packSize: Int
    /// Count what would be stored, store nothing.
    public let dryRun: Bool
    private let state: Locked<State>
    private let uploads: UploadQueue
    private let shared = Locked<BlobWriter?>(nil)

    struct State {
        var index: MasterIndex
        /// Blobs accepted but not yet in a stored pack, so concurrent savers do not duplicate them.
        var pending: Set<BlobKey> = []
        /// Stored packs no index file names yet, and their blob count.
        var written: [IndexFile.Pack] = []
        var writtenBlobs = 0
        /// Index files written while the uploads ran.
        var indexFiles: [ID] = []
        var statistics = SaveStatistics()
    }

    struct BlobKey: Hashable { var id: ID; var type: BlobType }

    /// - Parameter index: the repository's current index, used for deduplication.
    /// Uploads and index writes wait on it (the lock may not be confirmed yet).
    let writeGate: WriteGate

    public init(repository: Repository, index: MasterIndex, packSize: Int = 16 << 20, dryRun: Bool = false,
                writeGate: WriteGate = .alwaysOpen, indexFileBlobs: Int = defaultIndexFileBlobs) {
        precondition(indexFileBlobs > 0)
        self.repository = repository
        self.indexFileBlobs = indexFileBlobs
        self.writeGate = writeGate
        self.packSize = packSize
        self.dryRun = dryRun
        state = Locked(State(index: index))
        uploads = UploadQueue(capacity: repository.backend.connections + 1)
    }

    /// Whether a blob is stored or on its way.
    public func isKnown(_ id: ID, type: BlobType) -> Bool {
        state.withLock { $0.index.contains(id, type: type) || $0.pending.contains(BlobKey(id: id, type: type)) }
    }

    /// Whether all of `ids` are stored or on their way: one lock and batched index lookups
    /// for a file's whole chunk list.
    public func areKnown(_ ids: [ID], type: BlobType) -> Bool {
        state.withLock { s in
            var all = true
            ids.withUnsafeBufferPointer { buffer in
                s.index.forEachPosition(of: buffer, type: type) { i, slot in
                    if slot == nil && !s.pending.contains(BlobKey(id: buffer[i], type: type)) { all = false }
                }
            }
            return all
        }
    }

    /// Every stored copy of a blob.
    public func locations(of id: ID, type: BlobType) -> [BlobLocation] {
        state.withLock { $0.index.lookupAll(id, type: type) }
    }

    /// Reserves a blob for writing unless it is stored or already reserved.
    /// - Returns: true if the caller must write it.
    func reserve(_ id: ID, type: BlobType) -> Bool {
        let key = BlobKey(id: id, type: type)
        return state.withLock { s -> Bool in
            if s.index.contains(id, type: type) || s.pending.contains(key) { return false }
            s.pending.insert(key)
            return true
        }
    }

    func account(_ type: BlobType, plaintextBytes: Int, storedBytes: Int) {
        state.withLock { s in
            if type == .data { s.statistics.dataBlobs += 1 } else { s.statistics.treeBlobs += 1 }
            s.statistics.bytesAdded += UInt64(plaintextBytes)
            s.statistics.bytesStored += UInt64(storedBytes)
        }
    }

    /// Queues a finished pack for upload; blocks while the upload queue is full.
    func enqueue(_ pack: FinishedPack) throws {
        try uploads.push(pack)
    }

    /// Stores a blob unless it is already known, through a shared writer (for one-off
    /// writes and tests; pipeline threads use a `BlobWriter` each). `flush` finishes it.
    @discardableResult
    public func save(_ type: BlobType, id: ID, plaintext: UnsafeRawBufferPointer, cipher: Cipher,
                     compression: Compression = .auto) throws -> Bool {
        try shared.withLock { writer in
            if writer == nil { writer = BlobWriter(saver: self, compression: compression) }
            return try writer!.save(type, id: id, plaintext: plaintext)
        }
    }

    /// Finishes the packs of the shared writer.
    public func flush(cipher: Cipher) throws {
        try shared.withLock { writer in
            try writer?.flush()
            writer = nil
        }
    }

    /// Declares that no more blobs come; `runUploads` returns once the queue drains.
    public func finishInput() { uploads.finish() }

    /// Uploads finished packs, `backend.connections` at a time, until `finishInput`.
    /// Run it concurrently with the threads that call `save`.
    public func runUploads() async throws {
        let backend = repository.backend
        do {
            try await withThrowingTaskGroup(of: FinishedPack.self) { group in
                var running = 0
                for await pack in uploads.stream {
                    if running >= backend.connections {
                        let done = try await group.next()!
                        running -= 1
                        record(done)
                        try await writeIndexFiles(rest: false)
                    }
                    try await writeGate.wait()
                    group.addTask {
                        try await backend.save(FileHandle(.pack, pack.id), spooled: pack.file)
                        return pack
                    }
                    running += 1
                }
                while let done = try await group.next() {
                    record(done)
                    try await writeIndexFiles(rest: false)
                }
            }
        } catch {
            uploads.fail(error)
            throw error
        }
    }

    private func record(_ pack: FinishedPack) {
        uploads.release()
        state.withLock { s in
            var blobs: [IndexFile.Blob] = []
            blobs.reserveCapacity(pack.blobs.count)
            for b in pack.blobs {
                let location = BlobLocation(pack: pack.id, type: b.type, offset: b.offset, length: b.length,
                                            uncompressedLength: b.uncompressedLength)
                s.index.add(b.id, location)
                s.pending.remove(BlobKey(id: b.id, type: b.type))
                blobs.append(IndexFile.Blob(id: b.id, type: b.type, offset: b.offset, length: b.length,
                                            uncompressedLength: b.uncompressedLength))
            }
            s.written.append(IndexFile.Pack(id: pack.id, blobs: blobs))
            s.writtenBlobs += blobs.count
            s.statistics.packs += 1
        }
    }

    /// Blobs per index file. Each file is written as soon as stored packs fill it, so
    /// neither the list of stored packs nor the encoding of the last file grows with the
    /// backup; small files keep the encoding, which overlaps the running pipeline, at
    /// ~0.6 MiB of JSON (16,384 blobs per file put a 20 GiB image's peak 10 MiB above a
    /// 2 GiB one's; with 4,096, 5.6 MiB, the index itself).
    public static let defaultIndexFileBlobs = 4_096
    public let indexFileBlobs: Int

    /// Writes an index file for each full set of stored packs not named yet (during the
    /// uploads), and with `rest` one more for what is left.
    private func writeIndexFiles(rest: Bool) async throws {
        while let packs = state.withLock({ s -> [IndexFile.Pack]? in
            guard !s.written.isEmpty, rest || s.writtenBlobs >= indexFileBlobs else { return nil }
            var blobs = 0
            var count = 0
            while blobs < indexFileBlobs && count < s.written.count { blobs += s.written[count].blobs.count; count += 1 }
            defer { s.written.removeFirst(count); s.writtenBlobs -= blobs }
            return Array(s.written[..<count])
        }) {
            let id = try await repository.saveUnpacked(.index, json: IndexFile(packs: packs).encoded())
            state.withLock { $0.indexFiles.append(id) }
        }
    }

    /// Writes index files naming every pack stored so far and not named yet (after
    /// `runUploads` returned).
    /// - Returns: the IDs of all index files of this run, those written during the uploads too.
    public func writeIndex() async throws -> [ID] {
        try await writeGate.wait()
        state.withLock { precondition($0.pending.isEmpty, "index written while blobs are still pending") }
        try await writeIndexFiles(rest: true)
        return state.withLock { s in
            defer { s.indexFiles = [] }
            return s.indexFiles
        }
    }

    /// Drops open packs of a failed run (stored packs stay: the next prune removes them).
    public func abandon() {
        shared.withLock { $0 = nil }
        uploads.fail(LifeboatError(.interrupted, "backup abandoned"))
    }

    public var statistics: SaveStatistics { state.withLock { $0.statistics } }
    public var index: MasterIndex { state.withLock { $0.index } }
}

/// Hands finished packs from pipeline threads to the async uploader, blocking the threads
/// while `capacity` packs are queued or uploading (so spool space stays bounded).
final class UploadQueue: Sendable {
    let stream: AsyncStream<FinishedPack>
    private let continuation: AsyncStream<FinishedPack>.Continuation
    private let slots: DispatchSemaphore
    private let failure = Mutex<(any Error)?>(nil)

    init(capacity: Int) {
        (stream, continuation) = AsyncStream.makeStream(of: FinishedPack.self)
        slots = DispatchSemaphore(value: capacity)
    }

    func push(_ pack: FinishedPack) throws {
        slots.wait()
        if let error = failure.withLock({ $0 }) {
            slots.signal()
            unlinkQuietly(pack.file.path)
            throw error
        }
        continuation.yield(pack)
    }

    func release() { slots.signal() }
    func finish() { continuation.finish() }

    func fail(_ error: any Error) {
        let first = failure.withLock { f -> Bool in
            if f != nil { return false }
            f = error
            return true
        }
        guard first else { return }
        continuation.finish()
        // Wake every blocked producer so it sees the failure.
        for _ in 0..<64 { slots.signal() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
func unlinkQuietly(_ path: String) { unlink(path) }
