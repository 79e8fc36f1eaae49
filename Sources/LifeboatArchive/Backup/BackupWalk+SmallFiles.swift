import LifeboatCore
import LifeboatRepository

/// Small files, each a single chunk (smaller than the chunker's minimum), are read into one
/// shared buffer and queued as one job: with a queue hand-off, a buffer and a wake-up per
/// file, a tree of 100,000 small files spent most of its time in futex calls.
extension BackupWalk {
    static let batchBytes = 1 << 20
    static let batchFiles = 256

    /// Files this size or larger take the chunking path.
    var smallFileLimit: Int { chunker.parameters.minSize }

    /// Reads a file that `lstat` found to have `expected` bytes (fewer than `smallFileLimit`)
    /// into the batch as one chunk of `content` (none if it is empty).
    /// - Returns: the bytes read, or nil if the file has grown to chunking size meanwhile
    ///   (nothing kept; read it the usual way).
    func addSmallFile(_ reader: FileReader, expected: Int, content: FileContent,
                      directory: DirectoryBuild) throws -> UInt64? {
        if batch == nil {
            guard let buffer = buffers.take() else { throw failure.error! }
            batch = (buffer, [])
        }
        let start = batch!.buffer.length
        // One byte more than expected: a short read then means end of file, without the
        // extra read that would return 0.
        batch!.buffer.reserve(start + expected + 1)
        let count = try batch!.buffer.withUnsafeMutableBytes { raw in
            try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + expected + 1]), stopAtShortRead: true)
        }
        if count > expected { return nil }
        if count > 0 {
            batch!.parts.append(nextPart(of: content, directory: directory, start: start, length: count))
            batch!.buffer.length += count
        }
        if batch!.buffer.length >= Self.batchBytes || batch!.parts.count >= Self.batchFiles { submitBatch() }
        return UInt64(count)
    }

    /// Queues the pending batch, if any.
    func submitBatch() {
        guard let pending = batch else { return }
        batch = nil
        if pending.parts.isEmpty {
            buffers.give(pending.buffer)
        } else {
            jobs.push(ChunkJob(buffer: pending.buffer, parts: pending.parts))
        }
    }
}
