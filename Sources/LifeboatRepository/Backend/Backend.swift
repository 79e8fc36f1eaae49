public import LifeboatCore

/// The kinds of files a repository holds, named by their directory.
public enum FileType: String, Sendable, CaseIterable {
    case config
    case key = "keys"
    case lock = "locks"
    case snapshot = "snapshots"
    case index
    case pack = "data"
    /// Lifeboat's retention holds (docs/format.md); restic never lists this directory.
    case hold = "lifeboat-holds"
}

/// A file in the repository: its type and its name (a 64-hex ID, or "config").
public struct FileHandle: Hashable, Sendable, CustomStringConvertible {
    public var type: FileType
    public var name: String

    public init(_ type: FileType, _ name: String) {
        self.type = type
        self.name = name
    }

    public init(_ type: FileType, _ id: ID) { self.init(type, id.hex) }

    public static let config = FileHandle(.config, "config")

    /// The path relative to the repository root (`data/3f/3f9a…` for packs).
    public var path: String {
        switch type {
        case .config: return "config"
        case .pack: return "data/\(name.prefix(2))/\(name)"
        default: return "\(type.rawValue)/\(name)"
        }
    }

    public var description: String { path }
}

/// A file written completely in a spool directory, ready to be stored under a name.
public struct SpooledFile: Sendable {
    public var path: String
    public var size: Int
    public init(path: String, size: Int) { self.path = path; self.size = size }
}

/// Where a repository's files live. Every method may be called concurrently.
///
/// Files are immutable: `save` makes a file visible whole or not at all and never
/// replaces an existing file's content with different bytes.
public protocol Backend: Sendable {
    /// The location as the user typed it, for messages (no credentials).
    var location: String { get }
    /// How many requests may usefully run at once.
    var connections: Int { get }
    /// Whether `list(_:alsoListing:)` lists several types in one request (S3): then the
    /// lock check is the cheapest moment to list, and nothing should list before it.
    var combinesListings: Bool { get }
    /// A local directory for spool files that `save(_:spooled:)` can consume cheaply.
    var spoolDirectory: String { get }
    /// Whether `save(_:spooled:)` links a spool file into place without reading it (local
    /// disk): such files are best written past the page cache.
    var keepsSpoolFilesInPlace: Bool { get }
    /// How many bytes one ranged read of a pack should cover at most when a restore
    /// gathers neighbouring blobs: each request pays a round trip on a remote store, while
    /// a local read only pays for the buffer it fills.
    var preferredReadSize: Int { get }

    /// Creates the layout of an empty repository (directories, bucket).
    func create() async throws
    func save(_ handle: FileHandle, data: [UInt8]) async throws
    /// Stores a spooled file and takes ownership of it (it is gone afterwards).
    func save(_ handle: FileHandle, spooled: SpooledFile) async throws
    /// Reads `length` bytes at `offset`, or everything from `offset` when `length` is nil.
    /// - Throws: `.notFound` if the file does not exist.
    func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8]
    /// `load` for pipeline threads, which may block: backends that can read without a
    /// task hop (local files) save a thread switch per call.
    func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8]
    /// Reads a whole file into `buffer` (grown as needed, so one buffer serves many files
    /// without fresh pages each time); returns the file's length. Blocks.
    func loadBlocking(_ handle: FileHandle, into buffer: inout [UInt8]) throws -> Int
    /// Reads `length` bytes at `offset` into the start of `buffer` (grown as needed, so one
    /// buffer serves many reads without fresh pages each time). Blocks.
    /// - Throws: `.notFound` if the file does not exist, `.corrupt` if it is too short.
    func loadBlocking(_ handle: FileHandle, offset: Int, length: Int, into buffer: inout [UInt8]) throws
    /// Runs `body` over a whole file's bytes, read into `buffer` when they must be copied
    /// (local files are mapped instead). Blocks.
    func withWholeFile<R>(_ handle: FileHandle, buffer: inout [UInt8],
                          _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// - Throws: `.notFound` if the file does not exist.
    func size(_ handle: FileHandle) async throws -> Int
    func list(_ type: FileType) async throws -> [(name: String, size: Int)]
    /// Lists `type`; a backend where one request can also list the `alsoListing` types
    /// (S3: one ranged LIST) keeps those for the next `list` of each, used once and dropped
    /// when a file of that type is saved or removed meanwhile. Others just list `type`.
    func list(_ type: FileType, alsoListing: Set<FileType>) async throws -> [(name: String, size: Int)]
    func remove(_ handle: FileHandle) async throws
}

/// A backend that keeps local copies of tree blobs (a cache in front of remote storage):
/// the repository reads trees through it, so listing and incremental backups do not
/// download the same trees again. Bytes are the sealed blob as stored in the pack.
public protocol TreeCachingBackend: Backend {
    func loadTreeBlob(_ pack: FileHandle, offset: Int, length: Int) throws -> [UInt8]
    /// Drops a cached copy that failed its MAC or hash check.
    func forgetTreeBlob(_ pack: FileHandle, offset: Int, length: Int)
}

extension Backend {
    public var combinesListings: Bool { false }
    public var keepsSpoolFilesInPlace: Bool { false }
    public var preferredReadSize: Int { 4 << 20 }

    public func list(_ type: FileType, alsoListing: Set<FileType>) async throws -> [(name: String, size: Int)] {
        try await list(type)
    }

    public func withWholeFile<R>(_ handle: FileHandle, buffer: inout [UInt8],
                                 _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let count = try loadBlocking(handle, into: &buffer)
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    public func loadBlocking(_ handle: FileHandle, into buffer: inout [UInt8]) throws -> Int {
        let bytes = try loadBlocking(handle, offset: 0, length: nil)
        if buffer.count < bytes.count { buffer = bytes } else { buffer.replaceSubrange(0..<bytes.count, with: bytes) }
        return bytes.count
    }

    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8] {
        try awaitFromThread { try await load(handle, offset: offset, length: length) }
    }

    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int, into buffer: inout [UInt8]) throws {
        let bytes = try loadBlocking(handle, offset: offset, length: length)
        guard bytes.count == length else {
            throw LifeboatError(.corrupt, "\(handle) is shorter than expected (wanted \(length) bytes at \(offset))")
        }
        if buffer.count < length { buffer = bytes } else { buffer.replaceSubrange(0..<length, with: bytes) }
    }

    public func load(_ handle: FileHandle) async throws -> [UInt8] {
        try await load(handle, offset: 0, length: nil)
    }

    public func exists(_ handle: FileHandle) async throws -> Bool {
        do {
            _ = try await size(handle)
            return true
        } catch let error as LifeboatError where error.code == .notFound {
            return false
        }
    }
}
