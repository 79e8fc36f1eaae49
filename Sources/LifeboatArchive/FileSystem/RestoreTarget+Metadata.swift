#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore
public import LifeboatRepository

extension RestoreTarget {
    /// Applies `node`'s owner, permissions, extended attributes and times to the restored
    /// entry, never following a symlink at (or above) it.
    ///
    /// Order matters: chown clears setuid/setgid, so it comes before chmod; times come last
    /// because the other changes would not touch mtime but are cheap to keep ahead of it.
    /// Symlinks get owner and times only (Linux has no symlink permissions, restic 0.14 no
    /// symlink xattrs). No components means the root itself.
    /// - Parameter owner: restore uid/gid (only when running as root).
    /// - Returns: warnings for what could not be applied.
    /// - Throws: `.corrupt` for an unsafe component, `.io` if the entry cannot be opened.
    public func applyMetadata(_ components: [[UInt8]], node: Node, owner: Bool) throws -> [String] {
        let (parent, name) = try openParent(components, create: false)
        let path = display(components)
        var warnings: [String] = []
        func warn(_ what: String, _ code: Int32) { warnings.append("\(path): \(what): \(String(cString: strerror(code)))") }

        return try withCString(name) { cName in
            if owner && RestoreFile.isRoot {
                if fchownat(parent.raw, cName, uid_t(node.uid), gid_t(node.gid), AT_SYMLINK_NOFOLLOW) != 0 {
                    warn("chown", errno)
                }
            }

            // An O_PATH descriptor pins the entry itself (a symlink stays a symlink).
            let (fd, code) = retryingEINTR { openat(parent.raw, cName, Linux.oPath | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else { throw LifeboatError.posix("open for metadata", path, errno: code) }
            let entry = FileDescriptor(fd)
            var s = stat()
            guard fstat(entry.raw, &s) == 0 else { throw LifeboatError.posix("stat", path, errno: errno) }
            let isSymlink = s.st_mode & 0o170000 == 0o120000

            if !isSymlink {
                let permissions = mode_t(GoFileMode.unixPermissions(node.mode))
                // fchmod refuses O_PATH descriptors; the /proc link reaches the same inode.
                var result = chmod("/proc/self/fd/\(entry.raw)", permissions) == 0 ? 0 : errno
                if result == ENOENT { // no /proc: the type was checked just above
                    result = fchmodat(parent.raw, cName, permissions, 0) == 0 ? 0 : errno
                }
                if result != 0 { warn("chmod", result) }

                for attribute in node.extendedAttributes {
                    let failed = ExtendedAttributes.set(attribute, onDescriptor: entry.raw)
                    if failed != 0 { warn("set xattr \(attribute.name)", failed) }
                }
            }

            var times = [Self.timespec(node.atime), Self.timespec(node.mtime)]
            if utimensat(parent.raw, cName, &times, AT_SYMLINK_NOFOLLOW) != 0 { warn("set times", errno) }
            return warnings
        }
    }

    private static func timespec(_ t: Timestamp) -> Glibc.timespec {
        Glibc.timespec(tv_sec: time_t(t.seconds), tv_nsec: Int(t.nanoseconds))
    }
}
