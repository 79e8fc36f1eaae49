public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// A pack that is complete on local disk and ready to be stored.
public struct FinishedPack: Sendable {
    public var id: ID
    public var file: SpooledFile
    public var blobs: [PackBlobEntry]
    public var type: BlobType
}

/// Builds one pack file by appending sealed blobs to a spool file.
///
/// The pack never sits in memory: blobs go straight to the spool file and through the
/// SHA-256 that names it. Not thread-safe; `BlobSaver` serializes access.
final class Packer {
    let type: BlobType
    private let path: String
    private var fd: Int32
    private let hasher = SHA256()
    private(set) var entries: [PackBlobEntry] = []
    private(set) var size = 0
    /// Small writes (IVs, tags, small blobs) are gathered here: one syscall per 512 KiB.
    private var pending: [UInt8] = []
    private static let flushSize = 512 << 10

    init(type: BlobType, spoolDirectory: String) throws {
        self.type = type
        try makeDirectory(spoolDirectory)
        path = spoolDirectory + "/pack-" + Hex.encode(secureRandomBytes(12))
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.posix("cannot create spool file", path, errno: errno) }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Appends part of a blob being streamed in; `endBlob` records it.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        size += bytes.count
        if pending.count + bytes.count > Self.flushSize { try flushPending() }
        if bytes.count >= Self.flushSize {
            try writeAll(fd, bytes, path: path)
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Records the blob written since offset `start`.
    func endBlob(id: ID, start: Int, uncompressedLength: UInt32) {
        entries.append(PackBlobEntry(type: type, length: UInt32(size - start), uncompressedLength: uncompressedLength,
                                     id: id, offset: UInt32(start)))
    }

    /// Appends the sealed header and its length; the pack's ID is the hash of all of it.
    func finish(cipher: Cipher) throws -> FinishedPack {
        var tail = cipher.seal(PackHeader.encode(entries))
        let headerLength = UInt32(tail.count)
        withUnsafeBytes(of: headerLength.littleEndian) { tail.append(contentsOf: $0) }
        try tail.withUnsafeBytes { try write($0) }
        try flushPending()
        close(fd)
        fd = -1  // deinit must not close a number another file may have by now
        return FinishedPack(id: hasher.finalize(), file: SpooledFile(path: path, size: size), blobs: entries, type: type)
    }

    /// Deletes the spool file of a pack that will not be stored.
    func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(path)
    }
}
