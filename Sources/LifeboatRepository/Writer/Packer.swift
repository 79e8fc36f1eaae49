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

    func append(sealed: UnsafeRawBufferPointer, id: ID, uncompressedLength: UInt32) throws {
        try writeAll(fd, sealed, path: path)
        hasher.update(sealed)
        entries.append(PackBlobEntry(type: type, length: UInt32(sealed.count), uncompressedLength: uncompressedLength,
                                     id: id, offset: UInt32(size)))
        size += sealed.count
    }

    /// Appends part of a blob being streamed in; `endBlob` records it.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(fd, bytes, path: path)
        hasher.update(bytes)
        size += bytes.count
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
        try tail.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        hasher.update(tail)
        size += tail.count
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
