#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore
import LifeboatRepository
import Synchronization

/// A regular file being restored; created by `RestoreTarget.openFile`.
///
/// `@unchecked Sendable` because several threads may write disjoint ranges at once: the
/// descriptor never changes before `finish`, and `pwrite` takes explicit offsets, so no
/// file position is shared. Call `finish` once, after all writes have returned.
public final class RestoreFile: @unchecked Sendable {
    /// Blocks of this size, aligned in the file, that are all zero are not written.
    public static let holeBlockSize = 4096
    static let isRoot = geteuid() == 0

    public let path: String
    private let fd: Int32
    /// A second descriptor of the same file with `O_DIRECT`, or -1: whole aligned blocks of
    /// a large file are written through it (see `write`).
    private let directFD: Int32
    /// Cleared when the file system refuses a direct write; the rest then goes buffered.
    private let directUsable = Atomic<Bool>(true)
    private let closed = Mutex(false)
    /// The end of the furthest write: when it reaches the final size, `finish` need not
    /// set the size (one syscall less per file; the file is empty when opened).
    private let writtenEnd = Atomic<UInt64>(0)

    /// - Parameter direct: also open the file for `O_DIRECT` writes (through
    ///   `/proc/self/fd`, so the very same inode); where that fails, everything is buffered.
    init(fd: Int32, path: String, direct: Bool = false) {
        self.fd = fd
        self.path = path
        directFD = direct ? Self.reopenDirect(fd) : -1
    }

    deinit {
        if !closed.withLock({ $0 }) {
            _ = close(fd)
            if directFD >= 0 { _ = close(directFD) }
        }
    }

    /// Whether whole blocks still go through `O_DIRECT` (for tests and diagnostics).
    var writesDirect: Bool { directFD >= 0 && directUsable.load(ordering: .relaxed) }

    private static func reopenDirect(_ fd: Int32) -> Int32 {
        let (direct, _) = retryingEINTR { open("/proc/self/fd/\(fd)", O_WRONLY | O_CLOEXEC | Linux.oDirect) }
        return direct
    }

    /// Whole blocks of this size and alignment (in the file and in memory) can be written
    /// directly; 4 KiB covers the logical block size of common devices.
    public static let directAlignment = 4096

    /// A buffer aligned for `O_DIRECT` writes, one per writing thread.
    public final class Bounce: @unchecked Sendable {
        let bytes: UnsafeMutableRawBufferPointer

        public init(count: Int = 1 << 20) {
            bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: RestoreFile.directAlignment)
        }

        deinit { bytes.deallocate() }
    }

    /// Writes `bytes` at `offset`, skipping aligned all-zero blocks so they stay holes
    /// (the file was truncated on open and `finish` sets its size, so they read as zeros).
    /// Wraps `pwrite`.
    ///
    /// With a direct descriptor and a `bounce` buffer, the whole aligned blocks of each run
    /// are copied into `bounce` and written with `O_DIRECT`; only the partial blocks at a
    /// run's ends go through the page cache. On a VM whose fresh page-cache pages must be
    /// backed by the host first, buffered writes of a large file crawl (1 GiB: 6.0 s
    /// buffered into fresh pages, 1.2 s direct), and a restored volume image need not
    /// evict the node's page cache either. Direct and buffered writes never share a block.
    /// - Throws: `.io` naming the file.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, bounce: Bounce? = nil) throws {
        let bounce = writesDirect ? bounce : nil
        let block = Self.holeBlockSize
        var position = 0
        var runStart: Int?
        while position < bytes.count {
            let misalignment = Int((offset + UInt64(position)) % UInt64(block))
            let length = min(block - misalignment, bytes.count - position)
            if misalignment == 0 && length == block && Self.isZero(bytes, from: position, count: block) {
                if let start = runStart { try writeRun(bytes, start..<position, offset: offset, bounce: bounce) }
                runStart = nil
            } else if runStart == nil {
                runStart = position
            }
            position += length
        }
        if let start = runStart { try writeRun(bytes, start..<position, offset: offset, bounce: bounce) }
    }

    /// Writes one run of `bytes`: buffered, or its whole aligned blocks direct (see `write`).
    private func writeRun(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, offset: UInt64, bounce: Bounce?) throws {
        let block = UInt64(Self.directAlignment)
        let first = offset + UInt64(range.lowerBound)
        let alignedStart = (first + block - 1) / block * block
        let alignedEnd = (offset + UInt64(range.upperBound)) / block * block
        guard let bounce, alignedEnd > alignedStart else { return try writeAll(bytes, range, offset: offset) }
        let middleStart = range.lowerBound + Int(alignedStart - first)
        let middleEnd = middleStart + Int(alignedEnd - alignedStart)
        try writeAll(bytes, range.lowerBound..<middleStart, offset: offset)
        var done = middleStart
        while done < middleEnd {
            let count = min(bounce.bytes.count / Int(block) * Int(block), middleEnd - done)
            bounce.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[done..<done + count]))
            if !writeDirect(bounce.bytes.baseAddress!, count: count, at: offset + UInt64(done)) {
                try writeAll(bytes, done..<middleEnd, offset: offset)  // refused: the rest buffered
                break
            }
            done += count
        }
        try writeAll(bytes, middleEnd..<range.upperBound, offset: offset)
    }

    /// - Returns: false if the file system refused the direct write (nothing was written
    ///   then, or what was is written again buffered); later writes stay buffered.
    private func writeDirect(_ pointer: UnsafeMutableRawPointer, count: Int, at offset: UInt64) -> Bool {
        var done = 0
        while done < count {
            let (written, _) = retryingEINTR { pwrite(directFD, pointer + done, count - done, off_t(offset + UInt64(done))) }
            // EINVAL (no O_DIRECT here, or a larger block size) or an unaligned short write.
            if written <= 0 || written % Self.directAlignment != 0 {
                directUsable.store(false, ordering: .relaxed)
                return false
            }
            done += written
        }
        writtenEnd.max(offset + UInt64(count), ordering: .relaxed)
        return true
    }

    /// Sets the final size (creating a trailing hole if needed) and closes the file.
    /// Wraps `ftruncate`, `close`.
    /// - Throws: `.io` naming the file.
    public func finish(size: UInt64) throws {
        let wasClosed = closed.withLock { value in
            defer { value = true }
            return value
        }
        guard !wasClosed else { throw LifeboatError(.internalError, "\(path) finished twice") }
        let truncateError = setSize(size)
        let closeError = closeDescriptors()
        if truncateError != 0 { throw LifeboatError.posix("truncate", path, errno: truncateError) }
        if closeError != 0 && closeError != EINTR { throw LifeboatError.posix("close", path, errno: closeError) }
    }

    /// Closes the direct descriptor, if any, then the main one. - Returns: the main close's errno or 0.
    private func closeDescriptors() -> Int32 {
        if directFD >= 0 { _ = close(directFD) }
        return close(fd) == 0 ? 0 : errno
    }

    /// Sets the final size, then `node`'s owner, permissions, extended attributes and times
    /// through the open descriptor, and closes the file: no path is looked up again.
    /// - Returns: warnings for metadata that could not be applied.
    /// - Throws: `.io` if the size cannot be set or the file not closed.
    public func finish(size: UInt64, metadata node: Node, owner: Bool) throws -> [String] {
        let wasClosed = closed.withLock { value in
            defer { value = true }
            return value
        }
        guard !wasClosed else { throw LifeboatError(.internalError, "\(path) finished twice") }
        var warnings: [String] = []
        func warn(_ what: String, _ code: Int32) { warnings.append("\(path): \(what): \(String(cString: strerror(code)))") }
        let truncateError = setSize(size)
        if truncateError == 0 {
            // chown clears setuid/setgid, so it goes before chmod; times last.
            if owner && Self.isRoot && fchown(fd, uid_t(node.uid), gid_t(node.gid)) != 0 { warn("chown", errno) }
            if fchmod(fd, mode_t(GoFileMode.unixPermissions(node.mode))) != 0 { warn("chmod", errno) }
            for attribute in node.extendedAttributes {
                let code = ExtendedAttributes.set(attribute, onOpenFile: fd)
                if code != 0 { warn("set xattr \(attribute.name)", code) }
            }
            var times = [Glibc.timespec(tv_sec: time_t(node.atime.seconds), tv_nsec: Int(node.atime.nanoseconds)),
                         Glibc.timespec(tv_sec: time_t(node.mtime.seconds), tv_nsec: Int(node.mtime.nanoseconds))]
            if futimens(fd, &times) != 0 { warn("set times", errno) }
        }
        let closeError = closeDescriptors()
        if truncateError != 0 { throw LifeboatError.posix("truncate", path, errno: truncateError) }
        if closeError != 0 && closeError != EINTR { throw LifeboatError.posix("close", path, errno: closeError) }
        return warnings
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, offset: UInt64) throws {
        var done = range.lowerBound
        while done < range.upperBound {
            let (count, code) = retryingEINTR {
                pwrite(fd, bytes.baseAddress! + done, range.upperBound - done, off_t(offset + UInt64(done)))
            }
            guard count > 0 else { throw LifeboatError.posix("write", path, errno: count == 0 ? EIO : code) }
            done += count
        }
        writtenEnd.max(offset + UInt64(range.upperBound), ordering: .relaxed)
    }

    /// Sets the size unless the writes already reached it (a trailing hole needs it).
    private func setSize(_ size: UInt64) -> Int32 {
        // The writers returned before `finish` was called, which orders their updates before this load.
        if writtenEnd.load(ordering: .relaxed) == size { return 0 }
        return retryingEINTR { ftruncate(fd, off_t(size)) }.1
    }

    private static func isZero(_ bytes: UnsafeRawBufferPointer, from start: Int, count: Int) -> Bool {
        var accumulated: UInt64 = 0
        var index = start
        while index < start + count {
            accumulated |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
            if index & 511 == 0 && accumulated != 0 { return false }
        }
        return accumulated == 0
    }
}
