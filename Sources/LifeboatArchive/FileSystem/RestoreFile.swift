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
    private let closed = Mutex(false)
    /// The end of the furthest write: when it reaches the final size, `finish` need not
    /// set the size (one syscall less per file; the file is empty when opened).
    private let writtenEnd = Atomic<UInt64>(0)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        if !closed.withLock({ $0 }) { _ = close(fd) }
    }

    /// Writes `bytes` at `offset`, skipping aligned all-zero blocks so they stay holes
    /// (the file was truncated on open and `finish` sets its size, so they read as zeros).
    /// Wraps `pwrite`.
    /// - Throws: `.io` naming the file.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let block = Self.holeBlockSize
        var position = 0
        var runStart: Int?
        while position < bytes.count {
            let misalignment = Int((offset + UInt64(position)) % UInt64(block))
            let length = min(block - misalignment, bytes.count - position)
            if misalignment == 0 && length == block && Self.isZero(bytes, from: position, count: block) {
                if let start = runStart { try writeAll(bytes, start..<position, offset: offset) }
                runStart = nil
            } else if runStart == nil {
                runStart = position
            }
            position += length
        }
        if let start = runStart { try writeAll(bytes, start..<position, offset: offset) }
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
        let closeError = close(fd) == 0 ? 0 : errno
        if truncateError != 0 { throw LifeboatError.posix("truncate", path, errno: truncateError) }
        if closeError != 0 && closeError != EINTR { throw LifeboatError.posix("close", path, errno: closeError) }
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
        let closeError = close(fd) == 0 ? 0 : errno
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
