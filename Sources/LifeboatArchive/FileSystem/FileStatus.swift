#if canImport(Glibc)
import Glibc
#endif
public import LifeboatCore

/// The parts of `struct stat` that backup and restore use.
public struct FileStatus: Sendable, Equatable {
    public var size: UInt64
    public var mtime: Timestamp
    public var ctime: Timestamp
    public var inode: UInt64
    public var device: UInt64
    /// Unix `st_mode`: file type and permission bits.
    public var mode: UInt32
    public var links: UInt64
    public var uid: UInt32
    public var gid: UInt32
    /// `st_rdev` (Linux encoding) for devices, else 0.
    public var rdev: UInt64
    /// 512-byte blocks allocated; shows whether a file is sparse.
    public var blocks: UInt64

    public init(size: UInt64, mtime: Timestamp, ctime: Timestamp, inode: UInt64, device: UInt64, mode: UInt32,
                links: UInt64, uid: UInt32, gid: UInt32, rdev: UInt64, blocks: UInt64 = 0) {
        self.size = size; self.mtime = mtime; self.ctime = ctime; self.inode = inode; self.device = device
        self.mode = mode; self.links = links; self.uid = uid; self.gid = gid; self.rdev = rdev; self.blocks = blocks
    }

    init(_ s: stat) {
        self.init(
            size: UInt64(max(s.st_size, 0)),
            mtime: Timestamp(seconds: Int64(s.st_mtim.tv_sec), nanoseconds: Int32(s.st_mtim.tv_nsec)),
            ctime: Timestamp(seconds: Int64(s.st_ctim.tv_sec), nanoseconds: Int32(s.st_ctim.tv_nsec)),
            inode: UInt64(s.st_ino), device: UInt64(s.st_dev), mode: UInt32(s.st_mode),
            links: UInt64(s.st_nlink), uid: UInt32(s.st_uid), gid: UInt32(s.st_gid),
            rdev: UInt64(s.st_rdev), blocks: UInt64(max(s.st_blocks, 0)))
    }

    public var isRegular: Bool { mode & 0o170000 == 0o100000 }
    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }

    /// Status of `path` itself, not following a final symlink. Wraps `lstat`.
    /// - Throws: `.io` naming `path`.
    public static func lstat(_ path: RawPath) throws -> FileStatus {
        var s = stat()
        let code = try withCString(path.bytes) { Glibc.lstat($0, &s) == 0 ? 0 : errno }
        guard code == 0 else { throw LifeboatError.posix("lstat", path.display, errno: code) }
        return FileStatus(s)
    }

    /// Status of the entry `name` of the open directory `directory`, not following a final
    /// symlink. Wraps `fstatat`; errors name `path`, the entry's full path.
    public static func lstat(_ name: [UInt8], in directory: Int32, path: RawPath) throws -> FileStatus {
        var s = stat()
        let code = try withCString(name) { fstatat(directory, $0, &s, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno }
        guard code == 0 else { throw LifeboatError.posix("lstat", path.display, errno: code) }
        return FileStatus(s)
    }
}
