#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore

/// Reads a regular file for backup.
///
/// Opens with `O_NOFOLLOW` (a file swapped for a symlink is not followed), `O_NOATIME`
/// where permitted (reading should not change atime), and `O_NONBLOCK` (a file swapped for
/// a FIFO must not hang the backup); then checks that it is a regular file. Compare
/// `fstat()` after reading with the `lstat` taken before to notice a file changed
/// meanwhile. Not thread-safe.
public final class FileReader {
    public let path: RawPath
    private var fd: Int32

    /// - Parameter checkType: fstat right away and refuse anything but a regular file.
    ///   Callers that read a bounded amount and check `fstat()` afterwards can skip it.
    /// - Throws: `.io` naming the path, also if it is not a regular file.
    public init(path: RawPath, checkType: Bool = true) throws {
        self.path = path
        let base = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        var (fd, code) = try withCString(path.bytes) { cPath in retryingEINTR { open(cPath, base | Linux.oNoAtime) } }
        if fd < 0 && code == EPERM { // O_NOATIME needs ownership or CAP_FOWNER
            (fd, code) = try withCString(path.bytes) { cPath in retryingEINTR { open(cPath, base) } }
        }
        guard fd >= 0 else { throw LifeboatError.posix("open", path.display, errno: code) }
        self.fd = fd
        guard try !checkType || fstat().isRegular else {
            close()
            throw LifeboatError(.io, "open \(path.display): not a regular file")
        }
    }

    deinit { close() }

    /// Fills `buffer` as far as the file allows; fewer bytes than its size means end of
    /// file. Wraps `read`, retrying `EINTR`.
    /// - Parameter stopAtShortRead: take the first short read as the end (true for a
    ///   regular file): callers that know the size ask for one byte more and save the read
    ///   that would return 0.
    /// - Returns: the number of bytes read, 0 at end of file.
    /// - Throws: `.io` naming the path.
    public func read(into buffer: UnsafeMutableRawBufferPointer, stopAtShortRead: Bool = false) throws -> Int {
        guard fd >= 0 else { throw LifeboatError(.internalError, "read \(path.display) after close") }
        var total = 0
        while total < buffer.count {
            let (count, code) = retryingEINTR { Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total) }
            guard count >= 0 else { throw LifeboatError.posix("read", path.display, errno: code) }
            if count == 0 { break }
            total += count
            if stopAtShortRead && total < buffer.count { break }
        }
        return total
    }

    /// Back to the start of the file, to read it again from there.
    public func rewind() throws {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw LifeboatError.posix("seek", path.display, errno: errno) }
    }

    /// The open file's current status. Wraps `fstat`.
    public func fstat() throws -> FileStatus {
        var s = stat()
        guard Glibc.fstat(fd, &s) == 0 else { throw LifeboatError.posix("fstat", path.display, errno: errno) }
        return FileStatus(s)
    }

    /// Closes the file; further calls do nothing.
    public func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }
}
