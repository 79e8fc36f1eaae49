public import LifeboatCore
public import LifeboatRepository

public struct RepairSnapshotsReport: Sendable {
    public struct Change: Sendable {
        public var snapshot: ID
        /// The repaired copy; nil if the snapshot could not be repaired (root tree lost).
        public var replacement: ID?
        /// "file /a/b: removed 2 missing blobs", "directory /x: removed (tree missing)".
        public var fixes: [String]
    }
    public var checked = 0
    public var changes: [Change] = []
}

/// Rewrites snapshots that reference blobs the index lacks, as restic's `repair snapshots`
/// does: missing data blobs are cut out of files (sizes adjusted), directories whose tree
/// is lost are dropped. The repaired snapshot gets the tag `repaired` and names the
/// original, which stays unless `forget` is set.
public struct SnapshotRepairer: Sendable {
    public let repository: Repository
    public init(repository: Repository) { self.repository = repository }

    public func repair(_ snapshots: [(id: ID, snapshot: Snapshot)], forget: Bool, dryRun: Bool) async throws -> RepairSnapshotsReport {
        var report = RepairSnapshotsReport()
        let index = try await repository.loadIndex()
        let saver = BlobSaver(repository: repository, index: index, dryRun: dryRun)
        let state = RewriteState(repository: repository, index: index, saver: saver)
        let uploads = Task { try await saver.runUploads() }
        var pendingSnapshots: [(Int, ID, Snapshot, ID)] = []
        do {
            for (id, snapshot) in snapshots {
                report.checked += 1
                var fixes: [String] = []
                let newTree = try await state.rewrite(snapshot.tree, path: "/", fixes: &fixes)
                guard !fixes.isEmpty else { continue }
                guard let newTree else {
                    report.changes.append(.init(snapshot: id, replacement: nil, fixes: fixes + ["root tree is lost; the snapshot cannot be repaired"]))
                    continue
                }
                report.changes.append(.init(snapshot: id, replacement: nil, fixes: fixes))
                pendingSnapshots.append((report.changes.count - 1, id, snapshot, newTree))
            }
            try await blockingIO { try state.writer.value.flush() }
            saver.finishInput()
            try await uploads.value
        } catch {
            saver.abandon()
            uploads.cancel()
            throw error
        }
        guard !dryRun else { return report }
        _ = try await saver.writeIndex()
        for (i, id, snapshot, tree) in pendingSnapshots {
            var repaired = snapshot
            repaired.tree = tree
            repaired.original = snapshot.original ?? id
            if !repaired.tags.contains("repaired") { repaired.tags.append("repaired") }
            report.changes[i].replacement = try await repository.saveSnapshot(repaired)
            if forget { try await repository.backend.remove(FileHandle(.snapshot, id)) }
        }
        return report
    }

}

/// Memoized tree rewriting (one task at a time).
private final class RewriteState: @unchecked Sendable {
    let repository: Repository
    let index: MasterIndex
    let saver: BlobSaver
    let writer: Box
    /// Tree → its repaired ID (itself if intact, nil if lost), and the fixes found in it.
    var done: [ID: (ID?, [String])] = [:]

    final class Box: @unchecked Sendable { let value: BlobWriter; init(_ v: BlobWriter) { value = v } }

    init(repository: Repository, index: MasterIndex, saver: BlobSaver) {
        self.repository = repository; self.index = index; self.saver = saver
        writer = Box(BlobWriter(saver: saver))
    }

    /// The repaired tree's ID (the same ID when nothing was wrong), nil if the tree is lost.
    func rewrite(_ id: ID, path: String, fixes: inout [String]) async throws -> ID? {
        if let (result, found) = done[id] {
            fixes += found
            return result
        }
        var found: [String] = []
        let tree: Tree
        do {
            tree = try await repository.loadTree(id, index: index)
        } catch let error as LifeboatError where error.code == .notFound || error.code == .corrupt {
            found.append("directory \(path): removed (tree \(id.short) is lost: \(error.message))")
            done[id] = (nil, found)
            fixes += found
            return nil
        }
        var nodes: [Node] = []
        var changed = false
        for var node in tree.nodes {
            let childPath = path + (path.hasSuffix("/") ? "" : "/") + node.displayName
            if let content = node.content {
                let present = content.filter { index.contains($0, type: .data) }
                if present.count != content.count {
                    node.content = present
                    node.size = present.reduce(UInt64(0)) { $0 + UInt64(index.lookup($1, type: .data)!.plaintextLength) }
                    found.append("file \(childPath): removed \(content.count - present.count) missing blob(s)")
                    changed = true
                }
            }
            if let subtree = node.subtree {
                guard let newSubtree = try await rewrite(subtree, path: childPath, fixes: &found) else {
                    changed = true
                    continue   // the directory is dropped
                }
                if newSubtree != subtree { node.subtree = newSubtree; changed = true }
            }
            nodes.append(node)
        }
        var result = id
        if changed {
            let bytes = Tree(nodes: nodes).encoded()
            result = SHA256.hash(bytes)
            let writer = self.writer
            let newID = result
            try await blockingIO { try bytes.withUnsafeBytes { _ = try writer.value.save(.tree, id: newID, plaintext: $0) } }
        }
        done[id] = (result, found)
        fixes += found
        return result
    }
}
