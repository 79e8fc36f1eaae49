#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore
public import LifeboatRepository

/// Builds restic 0.14-shaped nodes from file metadata.
///
/// Not thread-safe (it caches user and group names): use one per thread.
public final class NodeReader {
    private let names = AccountNames()

    public init() {}

    /// The node for the entry `name` at `path`, whose `lstat` result is `status`.
    ///
    /// Times are in UTC and atime is the mtime (restic's default), so tree IDs do not depend
    /// on the host's zone or on reads. Files get `content: []` for the archiver to fill.
    /// Sockets become `.socket` nodes, which callers skip as restic 0.14 does.
    /// - Parameter withXattrs: read extended attributes (never for symlinks).
    /// - Throws: `.io` if the link target or the xattr list cannot be read.
    /// - Parameter previous: the parent snapshot's node of the same name. If it has the same
    ///   inode, ctime and mtime, its extended attributes and link target are taken instead of
    ///   read: changing either changes the ctime (the test restic applies to file contents).
    public func node(name: [UInt8], path: RawPath, status: FileStatus, withXattrs: Bool = true, previous: Node? = nil) throws -> Node {
        let type = try Self.kind(of: status.mode, path: path)
        var node = Node(name: name, type: type, mode: GoFileMode.from(unixMode: status.mode),
                        mtime: status.mtime.utc, atime: status.mtime.utc, ctime: status.ctime.utc,
                        uid: status.uid, gid: status.gid)
        node.user = names.user(status.uid)
        node.group = names.group(status.gid)
        node.inode = status.inode
        node.deviceID = status.device
        switch type {
        case .file:
            node.size = status.size
            node.links = status.links
        case .symlink:
            node.links = status.links
            if let previous, Self.sameInode(previous, node), let target = previous.linkTarget {
                node.linkTarget = target
            } else {
                node.linkTarget = try Self.readLink(path)
            }
        case .blockDevice, .charDevice:
            node.links = status.links
            node.device = status.rdev
        case .dir, .fifo, .socket, .irregular:
            break
        }
        if withXattrs && type != .symlink {
            if let previous, Self.sameInode(previous, node) {
                node.extendedAttributes = previous.extendedAttributes
            } else {
                node.extendedAttributes = try ExtendedAttributes.read(path)
            }
        }
        return node
    }

    /// The same file, untouched since `previous` was recorded.
    private static func sameInode(_ previous: Node, _ node: Node) -> Bool {
        previous.type == node.type && previous.inode != nil && previous.inode == node.inode
            && previous.ctime == node.ctime && previous.mtime == node.mtime
    }

    static func kind(of mode: UInt32, path: RawPath) throws -> Node.Kind {
        switch mode & 0o170000 {
        case 0o100000: return .file
        case 0o040000: return .dir
        case 0o120000: return .symlink
        case 0o060000: return .blockDevice
        case 0o020000: return .charDevice
        case 0o010000: return .fifo
        case 0o140000: return .socket
        default: throw LifeboatError(.unsupported, "unknown file type \(String(mode, radix: 8)) of \(path.display)")
        }
    }

    /// The raw target of the symlink at `path`. Wraps `readlink`.
    static func readLink(_ path: RawPath) throws -> [UInt8] {
        try withCString(path.bytes) { cPath in
            var capacity = 256
            while true {
                var buffer = [UInt8](repeating: 0, count: capacity)
                let (count, code) = retryingEINTR {
                    buffer.withUnsafeMutableBytes { readlink(cPath, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity) }
                }
                guard count >= 0 else { throw LifeboatError.posix("readlink", path.display, errno: code) }
                if count < capacity { return Array(buffer[..<count]) }
                capacity *= 4 // possibly truncated: retry larger
            }
        }
    }
}
