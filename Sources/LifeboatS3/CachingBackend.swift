public import LifeboatCore
public import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// Keeps local copies of a remote repository's snapshot and index files (immutable, named
/// by their SHA-256), so listing snapshots, `ls` and incremental backups read them from
/// disk instead of downloading them again.
///
/// The cache is inactive until `activate(repositoryID:)` names the repository (its ID is in
/// the encrypted config); files then live in `<base>/<repository-id>/{snapshots,index}/`,
/// as restic lays out its cache. Files the repository no longer lists are dropped on `list`.
public final class CachingBackend: TreeCachingBackend {
    public let inner: any Backend
    public let base: String
    private let directory = Locked<String?>(nil)
    /// Cache hits and misses, for tests and `-v` output.
    public let hits = Locked(0)
    public let misses = Locked(0)

    public static let cachedTypes: Set<FileType> = [.snapshot, .index]

    public init(inner: any Backend, base: String) {
        self.inner = inner
        self.base = base
    }

    public var location: String { inner.location }
    public var connections: Int { inner.connections }
    public var combinesListings: Bool { inner.combinesListings }
    public var spoolDirectory: String { inner.spoolDirectory }
    public var keepsSpoolFilesInPlace: Bool { inner.keepsSpoolFilesInPlace }

    /// Starts caching under `<base>/<repositoryID>`; a directory that cannot be made leaves
    /// the cache off (it is an optimisation, never a reason to fail).
    public func activate(repositoryID: String) {
        guard repositoryID.count == 64, ID(hex: repositoryID) != nil else { return }
        let root = base + "/" + repositoryID
        // Every missing ancestor too (XDG_CACHE_HOME may not exist yet).
        var paths: [String] = []
        var prefix = ""
        for part in base.split(separator: "/") {
            prefix += "/" + part
            paths.append(base.hasPrefix("/") ? prefix : String(prefix.dropFirst()))
        }
        for path in paths + [root, root + "/snapshots", root + "/index", root + "/trees"] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            return
        }
        directory.withLock { $0 = root }
    }

    private func cachePath(_ handle: FileHandle) -> String? {
        guard Self.cachedTypes.contains(handle.type), ID(hex: handle.name) != nil else { return nil }
        return directory.withLock { $0 }.map { $0 + "/" + handle.type.rawValue + "/" + handle.name }
    }

    public func create() async throws { try await inner.create() }

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await inner.save(handle, data: data)
        if let path = cachePath(handle) { try? await blockingIO { store(data, at: path) } }
    }

    public func save(_ handle: FileHandle, spooled: SpooledFile) async throws {
        try await inner.save(handle, spooled: spooled)
    }

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        guard let path = cachePath(handle) else { return try await inner.load(handle, offset: offset, length: length) }
        if let whole = try await blockingIO({ readCached(path) }) {
            hits.withLock { $0 += 1 }
            return slice(whole, offset: offset, length: length)
        }
        misses.withLock { $0 += 1 }
        let whole = try await inner.load(handle, offset: 0, length: nil)
        // Only bytes that match their name are kept: a cached file is trusted later.
        if SHA256.hash(whole).hex == handle.name { try? await blockingIO { store(whole, at: path) } }
        return slice(whole, offset: offset, length: length)
    }

    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8] {
        if cachePath(handle) == nil { return try inner.loadBlocking(handle, offset: offset, length: length) }
        return try awaitFromThread { try await self.load(handle, offset: offset, length: length) }
    }

    /// Tree blobs are cached one file each, named `PACK-OFFSET-LENGTH` (immutable: a pack
    /// never changes). Restic caches whole tree packs; single blobs keep the cache small.
    public func loadTreeBlob(_ pack: FileHandle, offset: Int, length: Int) throws -> [UInt8] {
        guard let root = directory.withLock({ $0 }), ID(hex: pack.name) != nil else {
            return try inner.loadBlocking(pack, offset: offset, length: length)
        }
        let path = "\(root)/trees/\(pack.name)-\(offset)-\(length)"
        if let bytes = readCached(path), bytes.count == length {
            hits.withLock { $0 += 1 }
            return bytes
        }
        misses.withLock { $0 += 1 }
        let bytes = try inner.loadBlocking(pack, offset: offset, length: length)
        store(bytes, at: path)
        return bytes
    }

    public func forgetTreeBlob(_ pack: FileHandle, offset: Int, length: Int) {
        guard let root = directory.withLock({ $0 }) else { return }
        unlink("\(root)/trees/\(pack.name)-\(offset)-\(length)")
    }

    public func size(_ handle: FileHandle) async throws -> Int {
        if let path = cachePath(handle) {
            var st = stat()
            if stat(path, &st) == 0 { return Int(st.st_size) }
        }
        return try await inner.size(handle)
    }

    public func list(_ type: FileType, alsoListing: Set<FileType>) async throws -> [(name: String, size: Int)] {
        try await inner.list(type, alsoListing: alsoListing)
    }

    public func list(_ type: FileType) async throws -> [(name: String, size: Int)] {
        let listed = try await inner.list(type)
        if Self.cachedTypes.contains(type), let root = directory.withLock({ $0 }) {
            let present = Set(listed.map(\.name))
            try? await blockingIO {
                for name in listNames(root + "/" + type.rawValue) where !present.contains(name) {
                    unlink(root + "/" + type.rawValue + "/" + name)
                }
            }
        }
        return listed
    }

    public func remove(_ handle: FileHandle) async throws {
        try await inner.remove(handle)
        if let path = cachePath(handle) { unlink(path) }
    }

    private func slice(_ whole: [UInt8], offset: Int, length: Int?) -> [UInt8] {
        let start = min(offset, whole.count)
        let end = length.map { min(whole.count, start + $0) } ?? whole.count
        return Array(whole[start..<end])
    }
}

private func readCached(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return nil }
    var out = [UInt8](repeating: 0, count: Int(st.st_size))
    var done = 0
    while done < out.count {
        let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return nil }
        done += n
    }
    return out
}

/// Temp file then rename: a reader never sees half a file.
private func store(_ bytes: [UInt8], at path: String) {
    let temp = path + ".tmp-" + Hex.encode(secureRandomBytes(6))
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return }
    var done = 0
    var ok = true
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { ok = false; break }
        done += n
    }
    close(fd)
    if !ok || rename(temp, path) != 0 { unlink(temp) }
}

private func listNames(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.count == 64 { names.append(name) }
    }
    return names
}
