import CMemory
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// A directory whose node list is being built by the walker and finished by the assembler.
///
/// The walker owns it until it is queued for assembly; after that only the assembler
/// touches it. Children are assembled before their parent (post-order), so when a parent
/// is assembled every child's `treeID` is set.
final class DirectoryBuild: @unchecked Sendable {
    /// The directory's nodes; while a listing's array is adopted, only `nodes[..<filled]`.
    private(set) var nodes: [Node] = []
    /// Set while an adopted listing array is overwritten in place: how many of its slots
    /// hold this directory's nodes. Each entry yields at most one node, so the slot written
    /// is never one the walker has yet to read.
    private var filled: Int?
    var files: [(node: Int, content: FileContent)] = []
    var children: [(node: Int, directory: DirectoryBuild)] = []
    /// Highest chunk sequence number issued for this directory's own files.
    var lastSequence = -1
    var parentTreeID: ID?
    /// The nodes of the parent snapshot's tree `parentTreeID`, when it was read.
    var parentNodes: [Node]?
    var treeID: ID?

    /// Appends a node; returns its index.
    @discardableResult
    func append(_ node: Node) -> Int {
        guard let slot = filled else {
            nodes.append(node)
            return nodes.count - 1
        }
        if slot < nodes.count { nodes[slot] = node } else { nodes.append(node) }
        filled = slot + 1
        return slot
    }

    /// Takes `listingNodes` (emptied) as this directory's storage, if it has no nodes yet;
    /// the walker then reads entry `i`'s node with `adopted(i)` before appending.
    /// - Returns: whether it did.
    func adopt(_ listingNodes: inout [Node]) -> Bool {
        guard nodes.isEmpty, filled == nil else { return false }
        swap(&nodes, &listingNodes)
        filled = 0
        return true
    }

    /// The listing's node for entry `index` of an adopted array.
    func adopted(_ index: Int) -> Node { nodes[index] }

    /// Ends an adoption: drops the listing's slots past the last node written.
    func endAdoption() {
        guard let slot = filled else { return }
        nodes.removeSubrange(slot...)
        filled = nil
    }

    /// Fills in what the workers and children computed.
    func setContent(_ ids: [ID], at index: Int) { nodes[index].content = ids }
    func setSubtree(_ id: ID, at index: Int) { nodes[index].subtree = id }

    /// Drops everything but the tree ID, once that is known.
    func release() {
        nodes = []
        parentNodes = nil
        files = []
        children = []
    }
}

/// The chunk IDs of one file, filled in by workers as chunks are hashed.
/// Only touched under `Completion`'s lock.
final class FileContent: @unchecked Sendable {
    var ids: [ID] = []
}

/// Chunks on their way to a worker, all in one buffer: one chunk of a larger file, or a
/// batch of small files (one chunk each).
struct ChunkJob: @unchecked Sendable {
    var buffer: ChunkBuffer
    var parts: [ChunkPart]
    /// One chunk of `parts[0].length` zero bytes, and no buffer (not the pool's).
    var zeros = false
}

/// One chunk of a job: bytes `start..<start+length` of the buffer, the `index`th chunk of `file`.
struct ChunkPart: @unchecked Sendable {
    var sequence: Int
    var file: FileContent
    var index: Int
    var start: Int
    var length: Int
}

/// A reusable read buffer. Its capacity only grows, `length` says how much of it holds
/// data, so refilling it costs no allocation and no memset. The bytes are a private
/// mapping: growing it moves pages (mremap) instead of copying what was read so far, which
/// an array did at every doubling (5 % of a d2 incremental backup's CPU, plus the page
/// faults of each new copy).
struct ChunkBuffer: @unchecked Sendable {
    private var storage: MappedBytes?
    var length = 0
    /// `capacity` as the pool last counted it.
    fileprivate var counted = 0

    var capacity: Int { storage?.count ?? 0 }

    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        if let storage { storage.grow(to: count) } else { storage = MappedBytes(count: count) }
    }

    /// Gives back the pages beyond `count` (rounded up to whole steps); keeps the rest.
    mutating func shrink(to count: Int) { storage?.shrink(to: count) }

    /// The whole capacity, `length` bytes of it filled.
    func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: storage?.base, count: capacity))
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage?.base, count: capacity))
    }
}

/// Anonymous memory in whole 256 KiB steps that grows without copying its bytes.
final class MappedBytes: @unchecked Sendable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count: Int
    private static let step = 256 << 10

    init(count: Int) {
        let size = Self.rounded(count)
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else {
            fatalError("out of memory: cannot map a \(size >> 20) MiB read buffer")
        }
        base = mapped
        self.count = size
    }

    func grow(to wanted: Int) {
        let size = Self.rounded(wanted)
        guard let moved = lifeboat_remap(base, count, size), moved != MAP_FAILED else {
            fatalError("out of memory: cannot grow a read buffer to \(size >> 20) MiB")
        }
        base = moved
        count = size
    }

    /// Unmaps the pages beyond `wanted` (in whole steps); the mapping stays where it is.
    func shrink(to wanted: Int) {
        let size = Self.rounded(wanted)
        guard size < count, let kept = lifeboat_remap(base, count, size), kept != MAP_FAILED else { return }
        base = kept
        count = size
    }

    deinit { munmap(base, count) }

    static func rounded(_ count: Int) -> Int { (max(count, 1) + step - 1) / step * step }
}

/// Zero bytes to read chunks of zeros from: a read-only anonymous mapping that is never
/// written, so every page of it is the kernel's one shared zero page and adds nothing to
/// the process's resident memory.
final class ZeroPages: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = MappedBytes.rounded(count)
        guard let mapped = mmap(nil, self.count, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else {
            fatalError("out of memory: cannot map \(self.count >> 20) MiB of zero pages")
        }
        base = mapped
    }

    deinit { munmap(base, count) }

    func bytes(_ length: Int) -> UnsafeRawBufferPointer {
        precondition(length <= count)
        return UnsafeRawBufferPointer(start: base, count: length)
    }
}

/// The chunk buffers of one backup, the memory bound of the read side: the walker waits
/// for a worker to hand one back when the pool is spent.
///
/// Up to `minimum` buffers exist whatever their size (one per worker and one being
/// filled). Beyond that, up to `maximum`, only while all of them together hold less than
/// `byteBudget`: typical ~1 MiB chunks get a deeper queue, which keeps both the walker
/// and the workers busy through bursts. A buffer that comes back while the pool is over
/// budget is shrunk to its share of the budget rather than dropped: its first pages stay
/// mapped, where a new buffer would fault in (and the kernel zero) every page again.
final class BufferPool: @unchecked Sendable {
    private let condition = Condition()
    private var free: [ChunkBuffer] = []
    private var created = 0
    /// Bytes of every buffer, each as of its last return.
    private var heldBytes = 0
    private var closed = false
    let minimum: Int
    let maximum: Int
    let byteBudget: Int
    /// What a buffer is shrunk to when it comes back over budget.
    var share: Int { MappedBytes.rounded(byteBudget / maximum) }

    init(minimum: Int, maximum: Int, byteBudget: Int) {
        precondition(minimum >= 1 && maximum >= minimum)
        self.minimum = minimum
        self.maximum = maximum
        self.byteBudget = byteBudget
    }

    /// - Returns: nil once the pool is closed (the pipeline failed).
    func take() -> ChunkBuffer? {
        condition.withLock {
            while free.isEmpty && !mayCreate && !closed { condition.wait() }
            if closed { return nil }
            if var buffer = free.popLast() {
                buffer.length = 0
                return buffer
            }
            created += 1
            return ChunkBuffer()
        }
    }

    func give(_ buffer: ChunkBuffer) {
        var buffer = buffer
        condition.withLock {
            heldBytes += buffer.capacity - buffer.counted
            if heldBytes > byteBudget && buffer.capacity > share {
                heldBytes -= buffer.capacity - share
                buffer.shrink(to: share)
            }
            buffer.counted = buffer.capacity
            free.append(buffer)
            condition.broadcast()
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    /// How many buffers exist and the bytes they held when last returned (for tests).
    var usage: (buffers: Int, bytes: Int) { condition.withLock { (created, heldBytes) } }

    private var mayCreate: Bool { created < minimum || (created < maximum && heldBytes < byteBudget) }
}

/// The IDs of all-zero chunks by length, one table per worker. Free space in a volume image
/// comes as runs of maximum-size zero chunks (d2: a fifth of the image), each of which would
/// otherwise be hashed again; checking that a chunk is all zeros stops at its first other
/// byte, so other data pays next to nothing.
struct ZeroChunkIDs {
    private var byLength: [Int: ID] = [:]

    /// The ID of a chunk known to be all zeros (no check of its bytes).
    mutating func id(ofZeros chunk: UnsafeRawBufferPointer) -> ID {
        if let id = byLength[chunk.count] { return id }
        let id = SHA256.hash(chunk)
        if byLength.count < 256 { byLength[chunk.count] = id }
        return id
    }

    /// The chunk's ID: from the table if it is all zeros, else hashed.
    mutating func id(of chunk: UnsafeRawBufferPointer) -> ID {
        guard chunk.count >= 4096, chunk[0] == 0, chunk[chunk.count - 1] == 0,
              Chunker.zeroBytes(in: chunk, from: 0, limit: chunk.count) == chunk.count else {
            return SHA256.hash(chunk)
        }
        return id(ofZeros: chunk)
    }
}

/// Tracks which chunk jobs are done. Jobs finish out of order; the watermark is the
/// lowest sequence number not yet done, which is what the tree assembler waits on.
final class Completion: @unchecked Sendable {
    private let condition = Condition()
    private var done = Set<Int>()
    private var watermark = 0
    private var failed = false

    func addChunk(to file: FileContent) -> Int {
        condition.withLock {
            file.ids.append(.zero)
            return file.ids.count - 1
        }
    }

    /// Records the IDs of a job's chunks, in one lock and one wake-up for the whole batch.
    func complete(_ parts: [ChunkPart], ids: [ID]) {
        condition.withLock {
            for (part, id) in zip(parts, ids) {
                part.file.ids[part.index] = id
                done.insert(part.sequence)
            }
            while done.remove(watermark) != nil { watermark += 1 }
            condition.broadcast()
        }
    }

    /// Waits until every job up to `sequence` is done; false if the pipeline failed.
    func wait(through sequence: Int) -> Bool {
        condition.withLock {
            while watermark <= sequence && !failed { condition.wait() }
            return !failed
        }
    }

    func ids(of file: FileContent) -> [ID] { condition.withLock { file.ids } }

    func fail() {
        condition.withLock {
            failed = true
            condition.broadcast()
        }
    }
}

/// The first error of any pipeline thread; everyone else stops when it is set.
final class PipelineFailure: @unchecked Sendable {
    private let state = Locked<(any Error)?>(nil)
    var error: (any Error)? { state.withLock { $0 } }
    var isSet: Bool { error != nil }

    /// - Returns: true for the first error.
    @discardableResult
    func set(_ error: any Error) -> Bool {
        state.withLock { current in
            if current != nil { return false }
            current = error
            return true
        }
    }
}
