#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore

/// Directory listing for the archiver.
public enum Directory {
    /// The entry names of the directory at `path`, sorted by raw bytes, without `.` and `..`.
    ///
    /// Opens with `O_NOFOLLOW`, so a directory replaced by a symlink since it was stat'ed is
    /// not followed. Wraps `open`, `fdopendir`, `readdir`.
    /// - Throws: `.io` naming `path`.
    public static func entries(of path: RawPath) throws -> [[UInt8]] {
        let directory = try open(path)
        directory.close()
        return directory.names
    }

    /// An open directory: its entry names (as `entries(of:)`) and a descriptor to stat them
    /// by name, which spares the kernel a walk of the whole path per entry.
    public struct Open {
        public let fd: Int32
        public let names: [[UInt8]]
        public func close() { _ = Glibc.close(fd) }
    }

    /// Opens and lists the directory at `path`; the caller closes it.
    /// - Throws: `.io` naming `path`.
    public static func open(_ path: RawPath) throws -> Open {
        let (fd, openErrno) = try withCString(path.bytes) { cPath in
            retryingEINTR { Glibc.open(cPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        }
        guard fd >= 0 else { throw LifeboatError.posix("open directory", path.display, errno: openErrno) }
        do {
            return Open(fd: fd, names: try names(of: fd, path: path))
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    private static func names(of fd: Int32, path: RawPath) throws -> [[UInt8]] {
        // fdopendir takes over the descriptor it is given: hand it a copy.
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let code = errno
            if copy >= 0 { _ = Glibc.close(copy) }
            throw LifeboatError.posix("fdopendir", path.display, errno: code)
        }
        defer { closedir(dir) }

        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                let code = errno
                if code != 0 { throw LifeboatError.posix("readdir", path.display, errno: code) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                let length = raw.firstIndex(of: 0) ?? raw.count
                return Array(raw[..<length])
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(name)
        }
        names.sort(by: bytesPrecede)
        return names
    }
}
