public import LifeboatCore

/// Writes new blobs into packs of its own, for one thread.
///
/// Each blob is compressed straight into the pack's 1 MiB write buffer and encrypted there,
/// so no second copy of a chunk is ever held and no lock is taken while writing;
/// only the deduplication check and finished packs go through the shared `BlobSaver`.
/// Data and tree blobs go to separate packs, as format version 2 requires.
public final class BlobWriter {
    public let saver: BlobSaver
    private let sealer: StreamingSealer
    private let headerCipher: Cipher
    private let compressor: ZstdCompressor?
    /// Only for dry runs, which count compressed bytes without keeping them.
    private var piece: [UInt8] = []
    private var packers: [BlobType: Packer] = [:]

    public init(saver: BlobSaver, compression: Compression = .auto) {
        self.saver = saver
        let key = saver.repository.masterKey
        sealer = StreamingSealer(key: key)
        headerCipher = Cipher(key: key)
        // Format version 1 has no compressed blobs.
        compressor = saver.repository.version >= 2 ? compression.zstdLevel.map { ZstdCompressor(level: $0) } : nil
    }

    deinit {
        for packer in packers.values { packer.discard() }
    }

    /// Stores a blob unless the repository has it or another writer is storing it.
    /// Blocks while too many finished packs wait for upload.
    /// - Returns: whether the blob was new.
    @discardableResult
    public func save(_ type: BlobType, id: ID, plaintext: UnsafeRawBufferPointer) throws -> Bool {
        precondition(plaintext.count > 0, "empty blobs are never stored")
        guard saver.reserve(id, type: type) else { return false }
        if saver.dryRun {
            var stored = 32
            if let compressor { compressor.compress(plaintext, into: &piece) { stored += $0.count } } else { stored += plaintext.count }
            saver.account(type, plaintextBytes: plaintext.count, storedBytes: stored)
            return true
        }
        let packer = try openPacker(type)
        let start = packer.size
        try sealer.begin().withUnsafeBytes { try packer.write($0) }
        // Compressed, or copied, straight into the pack's write buffer and encrypted there.
        if let compressor {
            var frame = compressor.frame(plaintext)
            while !frame.isDone {
                try packer.append { space in
                    let n = frame.compress(into: space)
                    sealer.update(UnsafeMutableRawBufferPointer(rebasing: space[0..<n]))
                    return n
                }
            }
        } else {
            var offset = 0
            while offset < plaintext.count {
                try packer.append { space in
                    let n = min(space.count, plaintext.count - offset)
                    let slice = UnsafeMutableRawBufferPointer(rebasing: space[0..<n])
                    slice.copyMemory(from: UnsafeRawBufferPointer(rebasing: plaintext[offset..<offset + n]))
                    sealer.update(slice)
                    offset += n
                    return n
                }
            }
        }
        try sealer.finish().withUnsafeBytes { try packer.write($0) }
        try endBlob(packer, type, id: id, start: start, uncompressedLength: compressor != nil ? UInt32(plaintext.count) : 0,
                    plaintextLength: plaintext.count)
        return true
    }

    /// Stores a blob that is already sealed (prune copies verified, compressed blobs as they
    /// are: no second compression or encryption).
    @discardableResult
    public func saveSealed(_ type: BlobType, id: ID, sealed: UnsafeRawBufferPointer, uncompressedLength: UInt32,
                           plaintextLength: Int) throws -> Bool {
        guard saver.reserve(id, type: type) else { return false }
        if saver.dryRun {
            saver.account(type, plaintextBytes: plaintextLength, storedBytes: sealed.count)
            return true
        }
        let packer = try openPacker(type)
        let start = packer.size
        try packer.write(sealed)
        try endBlob(packer, type, id: id, start: start, uncompressedLength: uncompressedLength, plaintextLength: plaintextLength)
        return true
    }

    /// The open pack for `type`, started if there is none.
    private func openPacker(_ type: BlobType) throws -> Packer {
        let backend = saver.repository.backend
        // Tree packs stay in the page cache: the next backup reads its parent's trees.
        let packer = try packers[type] ?? Packer(type: type, spoolDirectory: backend.spoolDirectory,
                                                 uncached: backend.keepsSpoolFilesInPlace && type == .data)
        packers[type] = packer
        return packer
    }

    /// Records the blob just written from `start`; hands the pack on once it is full.
    private func endBlob(_ packer: Packer, _ type: BlobType, id: ID, start: Int, uncompressedLength: UInt32,
                         plaintextLength: Int) throws {
        packer.endBlob(id: id, start: start, uncompressedLength: uncompressedLength)
        saver.account(type, plaintextBytes: plaintextLength, storedBytes: packer.size - start)
        if packer.size >= saver.packSize {
            packers[type] = nil
            try saver.enqueue(packer.finish(cipher: headerCipher))
        }
    }

    /// Finishes the open packs and hands them to the uploader.
    public func flush() throws {
        let open = packers.values.filter { !$0.isEmpty }
        packers = [:]
        for packer in open { try saver.enqueue(packer.finish(cipher: headerCipher)) }
    }
}
