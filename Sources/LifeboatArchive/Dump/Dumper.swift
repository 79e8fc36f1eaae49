public import LifeboatCore
public import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// Streams one file of a snapshot, or a directory as a tar archive, to a file descriptor.
public struct Dumper: Sendable {
    public let repository: Repository
    public let index: MasterIndex

    public init(repository: Repository, index: MasterIndex) {
        self.repository = repository
        self.index = index
    }

    /// Finds the node at `path` (components) below `tree`; the empty path is the root itself.
    public func node(at path: [[UInt8]], in tree: ID) async throws -> Node {
        var current = Node(name: [], type: .dir)
        current.subtree = tree
        current.mode = GoFileMode.dir | 0o755
        for (depth, name) in path.enumerated() {
            guard current.type == .dir, let subtree = current.subtree else {
                throw LifeboatError(.notFound, "\(display(Array(path[..<depth]))) is not a directory")
            }
            guard let next = try await repository.loadTree(subtree, index: index).node(named: name) else {
                throw LifeboatError(.notFound, "\(display(Array(path[...depth]))) does not exist in the snapshot")
            }
            current = next
        }
        return current
    }

    /// Writes a file's content, or a directory as tar, to `fd`.
    public func dump(_ node: Node, name: [UInt8], to fd: Int32) async throws {
        if node.type == .file {
            for id in node.content ?? [] {
                try write(fd, try await repository.loadBlob(id, type: .data, index: index))
            }
            return
        }
        guard node.type == .dir else {
            throw LifeboatError(.invalidArgument, "\(String(decoding: name, as: UTF8.self)) is a \(node.type.rawValue); dump writes files and directories")
        }
        if !name.isEmpty { try validateNodeName(name, by: "dump") }
        var tar = TarWriter()
        var links: [String: [UInt8]] = [:]
        try await writeTree(node.subtree!, prefix: name.isEmpty ? [] : [name], tar: &tar, links: &links, fd: fd)
        tar.finish()
        try write(fd, tar.takeOutput())
    }

    private func writeTree(_ id: ID, prefix: [[UInt8]], tar: inout TarWriter, links: inout [String: [UInt8]], fd: Int32) async throws {
        for node in try await repository.loadTree(id, index: index).nodes {
            // A crafted name (`..`, `/etc/x`) would make the archive write outside where it is extracted.
            try validateNodeName(node.name, by: "dump")
            let components = prefix + [node.name]
            let path = Array(components.joined(separator: [UInt8(ascii: "/")]))
            if node.type == .file, let links_ = node.links, links_ > 1, let inode = node.inode {
                let key = "\(node.deviceID ?? 0):\(inode)"
                if let first = links[key] {
                    tar.header(path: path, node: node, linkTarget: first, hardLink: true)
                    continue
                }
                links[key] = path
            }
            tar.header(path: path, node: node)
            switch node.type {
            case .file:
                try write(fd, tar.takeOutput())
                var written: UInt64 = 0
                for blob in node.content ?? [] {
                    let bytes = try await repository.loadBlob(blob, type: .data, index: index)
                    written += UInt64(bytes.count)
                    try write(fd, bytes)
                }
                tar.pad(written)
            case .dir:
                try await writeTree(node.subtree!, prefix: components, tar: &tar, links: &links, fd: fd)
            default:
                break
            }
            if tar.output.count > 1 << 20 { try write(fd, tar.takeOutput()) }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LifeboatError.posix("cannot write", "the output", errno: errno)
                }
                done += n
            }
        }
    }
}
