public import LifeboatCore
public import LifeboatRepository

public enum StatsMode: String, Sendable, CaseIterable {
    case restoreSize = "restore-size"
    case filesByContents = "files-by-contents"
    case rawData = "raw-data"
    case blobsPerFile = "blobs-per-file"
}

public struct RepositoryStats: Sendable {
    public var snapshots = 0
    public var totalSize: UInt64 = 0
    public var totalFileCount: UInt64 = 0
    public var totalBlobCount: UInt64 = 0
    /// raw-data: plaintext bytes of the referenced blobs (`totalSize` is what they occupy
    /// stored, compressed and sealed, as restic reports it).
    public var totalUncompressedSize: UInt64 = 0
    /// raw-data: what a restore of every selected snapshot would write, for the dedup ratio.
    public var restoreSize: UInt64 = 0

    /// restore size ÷ unique plaintext data (raw-data mode).
    public var deduplicationRatio: Double { totalUncompressedSize == 0 ? 0 : Double(restoreSize) / Double(totalUncompressedSize) }
    /// unique plaintext ÷ stored bytes (raw-data mode).
    public var compressionRatio: Double { totalSize == 0 ? 0 : Double(totalUncompressedSize) / Double(totalSize) }
}

/// restic's `stats` modes over a set of snapshots.
public struct StatsCollector: Sendable {
    public let repository: Repository
    public init(repository: Repository) { self.repository = repository }

    public func collect(_ snapshots: [(id: ID, snapshot: Snapshot)], mode: StatsMode) async throws -> RepositoryStats {
        let index = try await repository.loadIndex()
        var stats = RepositoryStats()
        stats.snapshots = snapshots.count
        // Per-tree totals (files, bytes) so a tree shared by many snapshots is read once.
        var treeTotals: [ID: (files: UInt64, bytes: UInt64)] = [:]
        var seenFiles = Set<[ID]>()
        var seenBlobs = Set<BlobKey>()
        // For blobs-per-file: unique (path-independent) files counted by content.
        func walk(_ id: ID) async throws -> (files: UInt64, bytes: UInt64) {
            if let t = treeTotals[id] { return t }
            let tree = try await repository.loadTree(id, index: index)
            seenBlobs.insert(BlobKey(id, .tree))
            var files: UInt64 = 0, bytes: UInt64 = 0
            for node in tree.nodes {
                switch node.type {
                case .dir:
                    if let sub = node.subtree {
                        let t = try await walk(sub)
                        files += t.files; bytes += t.bytes
                    }
                    files += 1
                default:
                    files += 1
                    bytes += node.size ?? 0
                    if let content = node.content {
                        if seenFiles.insert(content).inserted {
                            if mode == .filesByContents {
                                stats.totalFileCount += 1
                                stats.totalSize += node.size ?? 0
                            } else if mode == .blobsPerFile {
                                stats.totalFileCount += 1
                                stats.totalBlobCount += UInt64(content.count)
                                stats.totalSize += node.size ?? 0
                            }
                        }
                        for blob in content { seenBlobs.insert(BlobKey(blob, .data)) }
                    }
                }
            }
            treeTotals[id] = (files, bytes)
            return (files, bytes)
        }
        var restore: (files: UInt64, bytes: UInt64) = (0, 0)
        for (_, s) in snapshots {
            let t = try await walk(s.tree)
            restore.files += t.files; restore.bytes += t.bytes
        }
        switch mode {
        case .restoreSize:
            stats.totalFileCount = restore.files
            stats.totalSize = restore.bytes
        case .rawData:
            stats.restoreSize = restore.bytes
            for blob in seenBlobs {
                guard let location = index.lookup(blob.id, type: blob.type) else {
                    throw LifeboatError(.notFound, "\(blob.type) blob \(blob.id.short) is not in the index", hint: "run `lifeboat check`")
                }
                stats.totalBlobCount += 1
                stats.totalUncompressedSize += UInt64(location.plaintextLength)
                stats.totalSize += UInt64(location.length)
            }
        case .filesByContents, .blobsPerFile:
            break
        }
        return stats
    }
}
