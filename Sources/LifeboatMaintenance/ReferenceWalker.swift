public import LifeboatCore
public import LifeboatRepository

/// A blob's identity: restic keeps data and tree blobs apart even with equal IDs.
public struct BlobKey: Hashable, Sendable {
    public var id: ID
    public var type: BlobType
    public init(_ id: ID, _ type: BlobType) { self.id = id; self.type = type }
}

/// Every blob the given snapshots reference, found by walking their trees level by level
/// with many trees loading at once.
public struct ReferenceWalker: Sendable {
    public let repository: Repository
    public let index: MasterIndex

    public init(repository: Repository, index: MasterIndex) {
        self.repository = repository
        self.index = index
    }

    /// - Throws: `.corrupt`/`.notFound` naming the snapshot when a tree is missing or damaged
    ///   (prune must not run then: it would delete what the damaged tree still names).
    public func referencedBlobs(of roots: [(id: ID, snapshot: Snapshot)]) async throws -> Set<BlobKey> {
        var used = Set<BlobKey>()
        var level: [ID] = []
        for root in roots where used.insert(BlobKey(root.snapshot.tree, .tree)).inserted {
            level.append(root.snapshot.tree)
        }
        let repository = self.repository, index = self.index
        while !level.isEmpty {
            try Task.checkCancellation()
            // Dedicated threads: many small reads in flight even when the page cache is cold.
            let loaded = await threadPoolMap(level, threads: max(8, repository.backend.connections * 4)) { id -> Result<Tree, LifeboatError> in
                do {
                    return .success(try repository.loadTreeBlocking(id, index: index))
                } catch let error as LifeboatError {
                    return .failure(LifeboatError(error.code, "tree \(id.short) cannot be loaded: \(error.message)",
                                                  hint: "run `lifeboat check`, then `lifeboat repair index` or `lifeboat repair snapshots`"))
                } catch {
                    return .failure(LifeboatError(.io, "tree \(id.short) cannot be loaded: \(error)"))
                }
            }
            try Task.checkCancellation()
            let trees = try loaded.map { try $0!.get() }
            var next: [ID] = []
            for tree in trees {
                for node in tree.nodes {
                    if let content = node.content {
                        for blob in content { used.insert(BlobKey(blob, .data)) }
                    }
                    if let subtree = node.subtree, used.insert(BlobKey(subtree, .tree)).inserted {
                        next.append(subtree)
                    }
                }
            }
            level = next
        }
        return used
    }
}
