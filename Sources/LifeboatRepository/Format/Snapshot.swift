public import LifeboatCore

/// A snapshot file's content (restic's field set; see docs/format.md).
public struct Snapshot: Sendable, Equatable {
    public var time: Timestamp
    public var parent: ID?
    public var tree: ID
    public var paths: [String]
    public var hostname: String?
    public var username: String?
    public var uid: UInt32?
    public var gid: UInt32?
    public var excludes: [String]
    public var tags: [String]
    public var original: ID?
    public var programVersion: String?
    /// restic ≥ 0.17's `summary` object, kept as ordered key/number pairs plus the two times.
    public var summary: SnapshotSummary?

    public init(time: Timestamp, tree: ID, paths: [String]) {
        self.time = time
        self.tree = tree
        self.paths = paths
        self.excludes = []
        self.tags = []
    }
}

public struct SnapshotSummary: Sendable, Equatable {
    public var backupStart: Timestamp
    public var backupEnd: Timestamp
    public var filesNew: UInt64 = 0
    public var filesChanged: UInt64 = 0
    public var filesUnmodified: UInt64 = 0
    public var dirsNew: UInt64 = 0
    public var dirsChanged: UInt64 = 0
    public var dirsUnmodified: UInt64 = 0
    public var dataBlobs: UInt64 = 0
    public var treeBlobs: UInt64 = 0
    public var dataAdded: UInt64 = 0
    public var dataAddedPacked: UInt64 = 0
    public var totalFilesProcessed: UInt64 = 0
    public var totalBytesProcessed: UInt64 = 0

    public init(backupStart: Timestamp, backupEnd: Timestamp) {
        self.backupStart = backupStart
        self.backupEnd = backupEnd
    }
}
