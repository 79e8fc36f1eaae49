public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// A repository in a local directory, laid out exactly as restic's local backend does.
///
/// Writes go to `<root>/.lifeboat-tmp/` (a directory restic never lists), are fsynced and
/// renamed into place, then the directory is fsynced: a crash leaves either the whole file
/// or nothing under its final name. Stored files are made read-only, as restic does.
public struct LocalBackend: Backend {
    public let root: String
    public var location: String { root }
    public let connections: Int
    public var spoolDirectory: String { root + "/.lifeboat-tmp" }
    public var keepsSpoolFilesInPlace: Bool { true }
    /// 2 MiB rather than 4: two pack tasks' read buffers took 5 MiB off a d2 restore's peak
    /// (53–60 → 49–50 MiB) at the same CPU time.
    public var preferredReadSize: Int { 2 << 20 }

    public init(path: String, connections: Int = 2) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        root = trimmed
        self.connections = connections
    }

    private func fullPath(_ handle: FileHandle) -> String { root + "/" + handle.path }

    public func create() async throws {
        try await blockingIO { [root, spoolDirectory] in
            try makeDirectory(root)
            for type in FileType.allCases where type != .config {
                try makeDirectory(root + "/" + type.rawValue)
            }
            for i in 0..<256 { try makeDirectory(root + "/data/" + Hex.encode([UInt8(i)])) }
            try makeDirectory(spoolDirectory)
        }
    }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await blockingIO { [self] in
            try ensureSpool()
            let temp = spoolDirectory + "/" + Hex.encode(secureRandomBytes(12))
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LifeboatError.posix("cannot create", temp, errno: errno) }
            do {
                try data.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
                guard fsync(fd) == 0 else { throw LifeboatError.posix("cannot sync", temp, errno: errno) }
                close(fd)
            } catch {
                close(fd)
                unlink(temp)
                throw error
            }
            try publish(temp: temp, as: handle)
        }
    }

    public func save(_ handle: FileHandle, spooled: SpooledFile) async throws {
        try await blockingIO { [self] in
            let fd = open(spooled.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LifeboatError.posix("cannot open", spooled.path, errno: errno) }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw LifeboatError.posix("cannot sync", spooled.path, errno: errno) }
            if spooled.path.hasPrefix(spoolDirectory + "/") {
                try publish(temp: spooled.path, as: handle)
            } else {
                // A spool file from elsewhere (another file system): copy it in.
                let data = try readWhole(fd, path: spooled.path)
                unlink(spooled.path)
                try awaitFromThread { try await self.save(handle, data: data) }
            }
        }
    }

    /// Renames a finished temporary file to its final name; never replaces an existing file.
    private func publish(temp: String, as handle: FileHandle) throws {
        let final = fullPath(handle)
        let directory = String(final[..<final.lastIndex(of: "/")!])
        if access(directory, F_OK) != 0 { try makeDirectory(directory) }
        chmod(temp, 0o400)
        // link(2) fails with EEXIST instead of silently replacing: stored files are immutable.
        if link(temp, final) != 0 {
            let code = errno
            unlink(temp)
            if code == EEXIST {
                return  // Same name means same content (names are content hashes), except config.
            }
            throw LifeboatError.posix("cannot store", final, errno: code)
        }
        unlink(temp)
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// - Throws: `.notFound` if the file (or a directory above it) does not exist.
    private func openForReading(_ handle: FileHandle) throws -> (fd: Int32, path: String) {
        let path = fullPath(handle)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            // ENOTDIR: a path component is a file, so nothing of the repository is there.
            if code == ENOENT || code == ENOTDIR { throw LifeboatError(.notFound, "\(handle) does not exist in the repository") }
            throw LifeboatError.posix("cannot open", path, errno: code)
        }
        return (fd, path)
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await blockingIO { [self] in try loadBlocking(handle, offset: offset, length: length) }
    }

    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8] {
        let (fd, path) = try openForReading(handle)
        defer { close(fd) }
        if let length {
            return try readRange(fd, offset: offset, length: length, path: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LifeboatError.posix("cannot stat", path, errno: errno) }
        return try readRange(fd, offset: offset, length: max(0, Int(st.st_size) - offset), path: path)
    }

    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int, into buffer: inout [UInt8]) throws {
        let (fd, path) = try openForReading(handle)
        defer { close(fd) }
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        try buffer.withUnsafeMutableBytes { raw in
            try preadFully(fd, UnsafeMutableRawBufferPointer(rebasing: raw[..<length]), offset: offset, path: path)
        }
    }

    public func loadBlocking(_ handle: FileHandle, into buffer: inout [UInt8]) throws -> Int {
        let (fd, path) = try openForReading(handle)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LifeboatError.posix("cannot stat", path, errno: errno) }
        let length = Int(st.st_size)
        // Whole-file reads: let the kernel read ahead all of it at once (cold caches).
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED)
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        try buffer.withUnsafeMutableBytes { raw in
            try preadFully(fd, UnsafeMutableRawBufferPointer(rebasing: raw[..<length]), offset: 0, path: path)
        }
        return length
    }

    /// Maps the file instead of copying it out of the page cache: for check --read-data
    /// that copy was a sixth of all CPU time. Packs are immutable and never truncated in
    /// place (a file that cannot be mapped is read as usual).
    public func withWholeFile<R>(_ handle: FileHandle, buffer: inout [UInt8],
                                 _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let (fd, path) = try openForReading(handle)
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw LifeboatError.posix("cannot stat", path, errno: errno) }
        let length = Int(st.st_size)
        guard length > 0, let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0),
              mapped != MAP_FAILED else {
            close(fd)
            let count = try loadBlocking(handle, into: &buffer)
            return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        close(fd)
        defer { munmap(mapped, length) }
        return try body(UnsafeRawBufferPointer(start: mapped, count: length))
    }

    public func size(_ handle: FileHandle) async throws -> Int {
        let path = fullPath(handle)
        return try await blockingIO {
            var st = stat()
            guard stat(path, &st) == 0 else {
                let code = errno
                // ENOTDIR: a path component is a file, so nothing of the repository is there.
                if code == ENOENT || code == ENOTDIR { throw LifeboatError(.notFound, "\(handle) does not exist in the repository") }
                throw LifeboatError.posix("cannot stat", path, errno: code)
            }
            return Int(st.st_size)
        }
    }

    public func list(_ type: FileType) async throws -> [(name: String, size: Int)] {
        let base = root + "/" + type.rawValue
        return try await blockingIO {
            if type == .config {
                var st = stat()
                return stat(base, &st) == 0 ? [("config", Int(st.st_size))] : []
            }
            var out: [(name: String, size: Int)] = []
            let directories = type == .pack ? try listNames(base).filter { $0.count == 2 }.map { base + "/" + $0 } : [base]
            for directory in directories {
                for name in try listNames(directory) where name.count == 64 && ID(hex: name) != nil {
                    var st = stat()
                    if stat(directory + "/" + name, &st) == 0 { out.append((name, Int(st.st_size))) }
                }
            }
            return out
        }
    }

    public func remove(_ handle: FileHandle) async throws {
        let path = fullPath(handle)
        try await blockingIO {
            if unlink(path) != 0 && errno != ENOENT { throw LifeboatError.posix("cannot remove", path, errno: errno) }
        }
    }

    private func ensureSpool() throws {
        if access(spoolDirectory, F_OK) != 0 { try makeDirectory(spoolDirectory) }
    }
}

// MARK: - POSIX helpers

func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
        throw LifeboatError.posix("cannot create directory", path, errno: errno)
    }
}

func listNames(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else {
        if errno == ENOENT { return [] }
        throw LifeboatError.posix("cannot list", path, errno: errno)
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw LifeboatError.posix("cannot write", path, errno: errno)
        }
        done += n
    }
}

func readRange(_ fd: Int32, offset: Int, length: Int, path: String) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: length)
    try out.withUnsafeMutableBytes { try preadFully(fd, $0, offset: offset, path: path) }
    return out
}

/// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
func pwriteFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int, path: String) throws {
    var done = 0
    while done < bytes.count {
        let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw LifeboatError.posix("cannot write", path, errno: errno)
        }
        done += n
    }
}

/// Fills `buffer` from `offset`, retrying short reads and EINTR.
func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int, path: String) throws {
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw LifeboatError.posix("cannot read", path, errno: errno)
        }
        if n == 0 { throw LifeboatError(.corrupt, "\(path) is shorter than expected (wanted \(buffer.count) bytes at \(offset))") }
        done += n
    }
}

func readWhole(_ fd: Int32, path: String) throws -> [UInt8] {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw LifeboatError.posix("cannot stat", path, errno: errno) }
    return try readRange(fd, offset: 0, length: Int(st.st_size), path: path)
}
