public import LifeboatCore
import Dispatch
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
///
/// With `uncached` (local repositories, whose spool files are linked into place and not
/// read back) the file is written with `O_DIRECT` from an aligned buffer: no copy into
/// fresh page-cache pages, which was a fifth of a large backup's CPU time here. File
/// systems that refuse `O_DIRECT` get ordinary writes. An `O_DIRECT` write returns only
/// once the device has the bytes (1.5 ms per MiB here), so it runs in the background
/// from one buffer while the caller fills the other.
final class Packer {
    let type: BlobType
    private let path: String
    private var fd: Int32
    private var direct: Bool
    private let hasher = SHA256()
    private(set) var entries: [PackBlobEntry] = []
    private(set) var size = 0
    /// Writes are gathered here: one syscall per MiB, aligned for `O_DIRECT`.
    private var buffer: UnsafeMutableRawPointer
    private var filled = 0
    /// The buffer being written in the background (`O_DIRECT` only), and that write.
    private var spare: UnsafeMutableRawPointer?
    private var inFlight: BackgroundWrite?
    private static let bufferSize = 1 << 20
    private static let alignment = 4096

    init(type: BlobType, spoolDirectory: String, uncached: Bool = false) throws {
        self.type = type
        try makeDirectory(spoolDirectory)
        path = spoolDirectory + "/pack-" + Hex.encode(secureRandomBytes(12))
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        fd = uncached ? open(path, flags | directIOFlag, 0o600) : -1
        direct = fd >= 0
        if fd < 0 { fd = open(path, flags, 0o600) }
        guard fd >= 0 else { throw LifeboatError.posix("cannot create spool file", path, errno: errno) }
        buffer = .allocate(byteCount: Self.bufferSize, alignment: Self.alignment)
    }

    deinit {
        // The write must not outlive the buffer it reads or the descriptor it writes to.
        inFlight?.done.wait()
        if fd >= 0 { close(fd) }
        buffer.deallocate()
        spare?.deallocate()
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Appends part of a blob being streamed in; `endBlob` records it.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            try append { space in
                let n = min(space.count, bytes.count - done)
                space.baseAddress!.copyMemory(from: bytes.baseAddress! + done, byteCount: n)
                done += n
                return n
            }
        }
    }

    /// Appends bytes that `fill` writes in place into the free end of the write buffer (one
    /// byte at least; the buffer is written out first when full); `fill` returns how many it
    /// wrote. Saves the copy `write` makes of bytes prepared elsewhere.
    func append(_ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        if filled == Self.bufferSize { try flushBuffer() }
        let space = UnsafeMutableRawBufferPointer(start: buffer + filled, count: Self.bufferSize - filled)
        let n = try fill(space)
        precondition(n >= 0 && n <= space.count)
        hasher.update(UnsafeRawBufferPointer(rebasing: space[0..<n]))
        filled += n
        size += n
    }

    /// Writes the buffer out after what is in the file. Only the pack's last write may be
    /// unaligned: with `O_DIRECT` it is padded with zeros, and `finish` cuts the file back.
    private func flushBuffer() throws {
        guard filled > 0 else { return }
        let offset = size - filled
        if direct {
            let padded = (filled + Self.alignment - 1) / Self.alignment * Self.alignment
            (buffer + filled).initializeMemory(as: UInt8.self, repeating: 0, count: padded - filled)
            try awaitBackgroundWrite()
            if direct {
                let write = BackgroundWrite(fd: fd, path: path, bytes: UnsafeRawBufferPointer(start: buffer, count: padded),
                                            unpadded: filled, offset: offset)
                inFlight = write
                DispatchQueue.global(qos: .userInitiated).async { write.run() }
                let next = spare ?? .allocate(byteCount: Self.bufferSize, alignment: Self.alignment)
                spare = buffer
                buffer = next
                filled = 0
                return
            }
        }
        try pwriteFully(fd, UnsafeRawBufferPointer(start: buffer, count: filled), offset: offset, path: path)
        filled = 0
    }

    /// Waits for the background write. Some file systems open with `O_DIRECT` but refuse
    /// the writes (EINVAL): that buffer is written again through the page cache, and so is
    /// everything after it.
    private func awaitBackgroundWrite() throws {
        guard let write = inFlight else { return }
        inFlight = nil
        write.done.wait()
        guard let error = write.error else { return }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~directIOFlag) == 0 else { throw error }
        direct = false
        try pwriteFully(fd, UnsafeRawBufferPointer(rebasing: write.bytes[0..<write.unpadded]), offset: write.offset, path: path)
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
        try flushBuffer()
        try awaitBackgroundWrite()
        guard ftruncate(fd, off_t(size)) == 0 else { throw LifeboatError.posix("cannot truncate", path, errno: errno) }
        close(fd)
        fd = -1  // deinit must not close a number another file may have by now
        return FinishedPack(id: hasher.finalize(), file: SpooledFile(path: path, size: size), blobs: entries, type: type)
    }

    /// Deletes the spool file of a pack that will not be stored.
    func discard() {
        if let write = inFlight { write.done.wait(); inFlight = nil }
        if fd >= 0 { close(fd); fd = -1 }
        unlink(path)
    }
}

/// One buffer's write, run on a dispatch thread; `done` is signalled when it has ended.
private final class BackgroundWrite: @unchecked Sendable {
    let fd: Int32
    let path: String
    let bytes: UnsafeRawBufferPointer
    let unpadded: Int
    let offset: Int
    let done = DispatchSemaphore(value: 0)
    /// Set before `done` is signalled, read after it is waited for.
    private(set) var error: (any Error)?

    init(fd: Int32, path: String, bytes: UnsafeRawBufferPointer, unpadded: Int, offset: Int) {
        (self.fd, self.path, self.bytes, self.unpadded, self.offset) = (fd, path, bytes, unpadded, offset)
    }

    func run() {
        do { try pwriteFully(fd, bytes, offset: offset, path: path) } catch { self.error = error }
        done.signal()
    }
}

/// `O_DIRECT`, which Glibc's module map leaves out (it needs `_GNU_SOURCE`).
#if arch(x86_64) || arch(i386)
private let directIOFlag: Int32 = 0o40000
#else
private let directIOFlag: Int32 = 0o200000  // arm64 and most others
#endif
