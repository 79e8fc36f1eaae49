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
        let (fd, openErrno) = try withCString(path.bytes) { cPath in
            retryingEINTR { open(cPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        }
        guard fd >= 0 else { throw LifeboatError.posix("open directory", path.display, errno: openErrno) }
        guard let dir = fdopendir(fd) else {
            let code = errno
            _ = close(fd)
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
