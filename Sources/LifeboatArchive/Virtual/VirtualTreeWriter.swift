#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import LifeboatCore
public import LifeboatRepository

/// Builds a snapshot tree from files that exist only as bytes or streams: Kubernetes objects,
/// etcd snapshots, manifests. Files are chunked, deduplicated and stored as they are added;
/// directories appear implicitly and their trees are written by `finish`.
///
/// Thread-safe: several threads may add files at once (each borrows its own pack writer).
public final class VirtualTreeWriter: Sendable {
    public let repository: Repository
    let saver: BlobSaver
    private let compression: Compression
    private let root = Locked(VirtualDirectory())
    private let writers = Locked<[WriterBox]>([])
    private let totals = Locked((files: 0, bytes: UInt64(0)))

    init(repository: Repository, saver: BlobSaver, compression: Compression) {
        self.repository = repository
        self.saver = saver
        self.compression = compression
    }

    /// Adds a file with the given contents. `path` components must be non-empty and must
    /// not be "." or ".."; a path added twice is an error.
    public func addFile(_ path: [String], contents: [UInt8], mode: UInt32 = 0o644,
                        mtime: Timestamp = .now()) throws {
        try addStream(path, mode: mode, mtime: mtime) { write in
            try contents.withUnsafeBytes { try write($0) }
        }
    }

    /// Adds a file whose bytes `produce` passes to `write` in pieces of any size, so a stream
    /// (an HTTP body) goes into the repository without a temporary file.
    /// - Returns: the file's size.
    @discardableResult
    public func addStream(_ path: [String], mode: UInt32 = 0o644, mtime: Timestamp = .now(),
                          produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> UInt64 {
        try Self.validate(path)
        let box = writers.withLock { $0.popLast() } ?? WriterBox(BlobWriter(saver: saver, compression: compression))
        defer { writers.withLock { $0.append(box) } }
        var splitter = StreamSplitter(gear: repository.gear)
        var ids: [ID] = []
        var size: UInt64 = 0
        let store: (UnsafeRawBufferPointer) throws -> Void = { chunk in
            let id = SHA256.hash(chunk)
            try box.writer.save(.data, id: id, plaintext: chunk)
            ids.append(id)
        }
        try produce { bytes in
            size += UInt64(bytes.count)
            try splitter.push(bytes, emit: store)
        }
        try splitter.finish(emit: store)

        var node = Node(name: Array(path.last!.utf8), type: .file, mode: mode & GoFileMode.permissions,
                        mtime: mtime, atime: mtime, ctime: mtime, uid: getuid(), gid: getgid())
        node.size = size
        node.content = ids
        try root.withLock { try $0.insert(node, at: path.dropLast(), directoryTime: mtime) }
        totals.withLock { $0.files += 1; $0.bytes += size }
        return size
    }

    /// Writes every directory's tree blob, children first, and returns the root tree's ID.
    func finish() throws -> ID {
        let boxes = writers.withLock { boxes in defer { boxes.removeAll() }; return boxes }
        for box in boxes { try box.writer.flush() }
        let writer = BlobWriter(saver: saver, compression: compression)
        let id = try root.withLock { try $0.store(with: writer) }
        try writer.flush()
        return id
    }

    var fileCount: Int { totals.withLock { $0.files } }
    var byteCount: UInt64 { totals.withLock { $0.bytes } }

    private static func validate(_ path: [String]) throws {
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("/") && !$0.contains("\0") }) else {
            throw LifeboatError(.invalidArgument, "invalid path in snapshot: /\(path.joined(separator: "/"))")
        }
    }
}

/// A directory being built: files are final nodes, subdirectories are still open.
private struct VirtualDirectory {
    var files: [[UInt8]: Node] = [:]
    var directories: [[UInt8]: VirtualDirectory] = [:]
    var mtime: Timestamp = .epoch

    mutating func insert(_ node: Node, at path: ArraySlice<String>, directoryTime: Timestamp) throws {
        if mtime < directoryTime { mtime = directoryTime }
        guard let first = path.first else {
            guard files[node.name] == nil, directories[node.name] == nil else {
                throw LifeboatError(.invalidArgument, "\(node.displayName) is added twice to the snapshot")
            }
            files[node.name] = node
            return
        }
        let name = Array(first.utf8)
        guard files[name] == nil else {
            throw LifeboatError(.invalidArgument, "\(first) is both a file and a directory in the snapshot")
        }
        try directories[name, default: VirtualDirectory()].insert(node, at: path.dropFirst(), directoryTime: directoryTime)
    }

    func store(with writer: BlobWriter) throws -> ID {
        var nodes = Array(files.values)
        for (name, directory) in directories {
            var node = Node(name: name, type: .dir, mode: GoFileMode.dir | 0o755, mtime: directory.mtime,
                            atime: directory.mtime, ctime: directory.mtime, uid: getuid(), gid: getgid())
            node.subtree = try directory.store(with: writer)
            nodes.append(node)
        }
        var tree = Tree(nodes: nodes)
        tree.sort()
        let bytes = tree.encoded()
        let id = bytes.withUnsafeBytes { SHA256.hash($0) }
        try bytes.withUnsafeBytes { _ = try writer.save(.tree, id: id, plaintext: $0) }
        return id
    }
}

/// Cuts a stream that arrives in arbitrary pieces into content-defined chunks.
struct StreamSplitter {
    private var chunker: Chunker
    private var pending: [UInt8] = []

    init(gear: GearTable) {
        chunker = Chunker(gear: gear)
        pending.reserveCapacity(1 << 20)
    }

    mutating func push(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = bytes
        while !rest.isEmpty {
            if let cut = chunker.nextBoundary(in: rest) {
                if pending.isEmpty {
                    try emit(UnsafeRawBufferPointer(rebasing: rest[..<cut]))
                } else {
                    pending.append(contentsOf: rest[..<cut])
                    try pending.withUnsafeBytes { try emit($0) }
                    pending.removeAll(keepingCapacity: true)
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[cut...])
            } else {
                pending.append(contentsOf: rest)
                return
            }
        }
    }

    mutating func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        if !pending.isEmpty { try pending.withUnsafeBytes { try emit($0) } }
        pending.removeAll()
        chunker.reset()
    }
}

/// A pack writer lent to one thread at a time through the pool's lock.
private final class WriterBox: @unchecked Sendable {
    let writer: BlobWriter
    init(_ writer: BlobWriter) { self.writer = writer }
}
