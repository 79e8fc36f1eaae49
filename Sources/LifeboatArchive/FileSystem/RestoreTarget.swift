#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore
public import LifeboatRepository

/// The directory a restore writes into; nothing outside it is ever created or changed.
///
/// Paths are lists of raw name components relative to the root. Each component is checked
/// (no empty, `.`, `..`, `/` or NUL), and the walk goes `openat(O_PATH|O_DIRECTORY|
/// O_NOFOLLOW)` from a descriptor of the root, so a symlink found in the target, planted or
/// restored earlier, is never followed. Missing parent directories are created with mode
/// 0700; a parent that exists but is not a directory is an error.
///
/// Thread-safe: the only state is the root descriptor, which never changes; each call
/// opens its own descriptors.
public final class RestoreTarget: @unchecked Sendable {
    public let root: RawPath
    let rootFD: FileDescriptor
    /// Directories already opened (never through a symlink), by path below the root: a
    /// restore of many files in few directories walks each directory once, not per file.
    private let openDirectories = Locked<[[[UInt8]]: FileDescriptor]>([:])

    /// Opens `root`, creating it and its parents if missing (the root itself is trusted and
    /// may be reached through symlinks).
    /// - Throws: `.io` if it cannot be created or is not a directory.
    public init(root: RawPath) throws {
        self.root = root
        try Self.makeDirectories(root)
        let (fd, code) = try withCString(root.bytes) { path in
            retryingEINTR { open(path, Linux.oPath | O_DIRECTORY | O_CLOEXEC) }
        }
        guard fd >= 0 else { throw LifeboatError.posix("open restore target", root.display, errno: code) }
        rootFD = FileDescriptor(fd)
    }

    // MARK: Creating entries

    /// Creates the directory and any missing parents (`mkdir -p` inside the root). A
    /// non-directory at the final component is replaced.
    /// - Throws: `.corrupt` for an unsafe component, `.io` otherwise.
    public func createDirectory(_ components: [[UInt8]]) throws {
        guard !components.isEmpty else { return }
        let (parent, name) = try openParent(components)
        try removeExisting(parent.raw, name, components) { $0.isDirectory }
        _ = try openDirectory(in: parent.raw, name, create: true, components)
    }

    /// Creates (or truncates) a regular file for writing its content.
    ///
    /// Anything else at that name (symlink, FIFO, empty directory) is removed first, and so
    /// is a regular file with other hard links, so writing never changes another name's data.
    /// - Parameters:
    ///   - size: the final size (reserved for preallocation; holes are kept instead).
    ///   - direct: also open it for `O_DIRECT` writes of whole blocks (large files).
    /// - Throws: `.corrupt` for an unsafe component, `.io` otherwise.
    public func openFile(_ components: [[UInt8]], size: UInt64, direct: Bool = false) throws -> RestoreFile {
        let (parent, name) = try openParent(components)
        // Usually nothing is there yet: O_EXCL makes a new regular file or fails, so no
        // lookup before and no type check after are needed.
        let fresh = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        let (newFD, newCode) = try withCString(name) { cName in retryingEINTR { openat(parent.raw, cName, fresh, 0o600) } }
        if newFD >= 0 { return RestoreFile(fd: newFD, path: display(components), direct: direct) }
        guard newCode == EEXIST else { throw LifeboatError.posix("create file", display(components), errno: newCode) }
        try removeExisting(parent.raw, name, components) { $0.isRegular && $0.links == 1 }
        // O_NONBLOCK: should a FIFO appear in between, fail instead of hanging.
        let flags = O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        let (fd, code) = try withCString(name) { cName in retryingEINTR { openat(parent.raw, cName, flags, 0o600) } }
        guard fd >= 0 else { throw LifeboatError.posix("create file", display(components), errno: code) }
        let file = RestoreFile(fd: fd, path: display(components), direct: direct)
        var s = stat()
        guard fstat(fd, &s) == 0, s.st_mode & 0o170000 == 0o100000 else {
            throw LifeboatError(.io, "create file \(display(components)): not a regular file")
        }
        return file
    }

    /// Creates a symlink with the raw `target`, replacing a non-directory (or empty
    /// directory) at that name. The target is stored as is and never resolved.
    public func createSymlink(_ components: [[UInt8]], target: [UInt8]) throws {
        let (parent, name) = try openParent(components)
        try removeExisting(parent.raw, name, components) { _ in false }
        let code = try withCString(target) { cTarget in
            try withCString(name) { symlinkat(cTarget, parent.raw, $0) == 0 ? 0 : errno }
        }
        guard code == 0 else { throw LifeboatError.posix("symlink", display(components), errno: code) }
    }

    /// Makes `components` a hard link to the already restored `existing` (not following a
    /// symlink at `existing`).
    /// - Throws: `.invalidArgument` if both name the same entry.
    public func createHardLink(_ components: [[UInt8]], to existing: [[UInt8]]) throws {
        guard components != existing else {
            throw LifeboatError(.invalidArgument, "hard link \(display(components)) to itself")
        }
        let (sourceParent, sourceName) = try openParent(existing, create: false)
        let (parent, name) = try openParent(components)
        try removeExisting(parent.raw, name, components) { _ in false }
        let code = try withCString(sourceName) { cSource in
            try withCString(name) { linkat(sourceParent.raw, cSource, parent.raw, $0, 0) == 0 ? 0 : errno }
        }
        guard code == 0 else {
            throw LifeboatError.posix("link to \(display(existing))", display(components), errno: code)
        }
    }

    /// Creates a FIFO or device node for `node`.
    ///
    /// Devices need root (`mknodat` fails with `EPERM` otherwise); that, and socket nodes
    /// (restic skips them too), give a warning instead of an error.
    /// - Returns: warnings for what was not created.
    /// - Throws: `.invalidArgument` for a node of another type, `.io` on failure.
    public func createSpecial(_ components: [[UInt8]], node: Node) throws -> [String] {
        let mode: UInt32
        switch node.type {
        case .fifo: mode = 0o010000
        case .charDevice: mode = 0o020000
        case .blockDevice: mode = 0o060000
        case .socket: return ["\(display(components)): socket not restored"]
        default: throw LifeboatError(.invalidArgument, "\(display(components)): \(node.type.rawValue) is not a special file")
        }
        let (parent, name) = try openParent(components)
        try removeExisting(parent.raw, name, components) { _ in false }
        let code = try withCString(name) { cName in
            mknodat(parent.raw, cName, mode | 0o600, dev_t(node.device ?? 0)) == 0 ? 0 : errno
        }
        if code == EPERM && node.type != .fifo {
            return ["\(display(components)): cannot create device node without root privileges"]
        }
        guard code == 0 else { throw LifeboatError.posix("mknod", display(components), errno: code) }
        return []
    }

    // MARK: Walking

    /// The path below the root as text, for messages.
    func display(_ components: [[UInt8]]) -> String {
        components.reduce(root) { $0.appending(component: $1) }.display
    }

    /// Rejects names that would leave the directory they are looked up in.
    static func validate(_ components: [[UInt8]], _ display: @autoclosure () -> String) throws {
        for name in components {
            if name.isEmpty || name == [0x2e] || name == [0x2e, 0x2e] || name.contains(0x2f) || name.contains(0) {
                throw LifeboatError(.corrupt, "refusing unsafe path component \"\(String(decoding: name, as: UTF8.self))\" in \(display())",
                                    hint: "the snapshot's tree contains a name that could escape the restore target")
            }
        }
    }

    /// Opens the directory holding the last component and returns it with that name;
    /// for no components, the root itself and ".".
    func openParent(_ components: [[UInt8]], create: Bool = true) throws -> (FileDescriptor, [UInt8]) {
        try Self.validate(components, self.display(components))
        guard let last = components.last else { return (rootFD, [0x2e]) }
        let parentPath = Array(components.dropLast())
        if let cached = openDirectories.withLock({ $0[parentPath] }) { return (cached, last) }
        var current = rootFD
        for index in components.indices.dropLast() {
            current = try openDirectory(in: current.raw, components[index], create: create, Array(components[...index]))
        }
        openDirectories.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }  // bounded: descriptors are a limited resource
            cache[parentPath] = current
        }
        return (current, last)
    }

    /// Opens the directory `name` in `parent` as an `O_PATH` descriptor without following
    /// symlinks, creating it (mode 0700) if missing and `create` is set.
    private func openDirectory(in parent: Int32, _ name: [UInt8], create: Bool, _ components: [[UInt8]]) throws -> FileDescriptor {
        try withCString(name) { cName in
            for _ in 0..<3 {
                let (fd, code) = retryingEINTR { openat(parent, cName, Linux.oPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                if fd >= 0 { return FileDescriptor(fd) }
                switch code {
                case ENOENT where create:
                    let made = mkdirat(parent, cName, 0o700) == 0 ? 0 : errno
                    if made != 0 && made != EEXIST {
                        throw LifeboatError.posix("mkdir", display(components), errno: made)
                    }
                case ELOOP, ENOTDIR:
                    throw LifeboatError(.io, "\(display(components)) is not a directory (symlinks in the target are not followed)")
                default:
                    throw LifeboatError.posix("open directory", display(components), errno: code)
                }
            }
            throw LifeboatError(.io, "\(display(components)) keeps disappearing")
        }
    }

    /// Removes whatever is at `name` unless `keep` accepts it; directories only if empty.
    private func removeExisting(_ parent: Int32, _ name: [UInt8], _ components: [[UInt8]],
                                keep: (FileStatus) -> Bool) throws {
        try withCString(name) { cName in
            var s = stat()
            let code = fstatat(parent, cName, &s, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno
            if code == ENOENT { return }
            guard code == 0 else { throw LifeboatError.posix("stat", display(components), errno: code) }
            let status = FileStatus(s)
            if keep(status) { return }
            if status.isDirectory { openDirectories.withLock { $0.removeAll() } }
            let removed = unlinkat(parent, cName, status.isDirectory ? AT_REMOVEDIR : 0) == 0 ? 0 : errno
            if removed != 0 && removed != ENOENT {
                throw LifeboatError.posix("cannot replace existing entry", display(components), errno: removed)
            }
        }
    }

    /// `mkdir -p` for the root path (trusted: given by the user).
    private static func makeDirectories(_ path: RawPath) throws {
        var prefix: [UInt8] = []
        for (index, byte) in path.bytes.enumerated() {
            prefix.append(byte)
            let atEnd = index == path.bytes.count - 1
            guard (byte == 0x2f || atEnd) && prefix != [0x2f] else { continue }
            let code = try withCString(prefix) { mkdir($0, 0o755) == 0 ? 0 : errno }
            if code != 0 && code != EEXIST {
                throw LifeboatError.posix("mkdir", String(decoding: prefix, as: UTF8.self), errno: code)
            }
        }
    }
}
