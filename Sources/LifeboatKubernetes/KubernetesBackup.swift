public import LifeboatCore
public import LifeboatRepository
public import LifeboatArchive

/// `lifeboat k8s backup`: one snapshot of a cluster (or of manifests on disk).
public enum KubernetesBackup {
    public struct Result: Sendable {
        public var snapshot: VirtualBackupResult
        public var report: CollectionReport
    }

    /// Characters that cannot appear in a snapshot path component are replaced.
    public static func sanitize(clusterName: String) -> String {
        let s = String(clusterName.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        return s.isEmpty || s == "." || s == ".." ? "cluster" : s
    }

    public static func snapshotOptions(cluster: String, tags: [String], dryRun: Bool,
                                       compression: Compression = .auto) -> VirtualSnapshotOptions {
        var options = VirtualSnapshotOptions(paths: ["/\(SnapshotLayout.root)/\(cluster)"])
        options.tags = ["k8s", "cluster=\(cluster)"] + tags
        options.hostname = cluster
        options.dryRun = dryRun
        options.compression = compression
        return options
    }

    /// Lists the cluster into a new snapshot. Nothing is committed if listing fails; 403s and
    /// unserved group-versions are recorded in `report.skipped` (the caller exits 3).
    public static func fromCluster(client: KubeClient, repository: Repository, cluster: String, filters: ObjectFilters,
                                   tags: [String] = [], dryRun: Bool = false, concurrency: Int = 8, pageSize: Int = 500,
                                   parent: ID? = nil, compression: Compression = .auto) async throws -> Result {
        let discovery = try Discovery.load(client)
        var collector = Collector(client: client, discovery: discovery, filters: filters, cluster: cluster)
        collector.concurrency = concurrency
        collector.pageSize = pageSize
        let box = Locked<CollectionReport?>(nil)
        var options = snapshotOptions(cluster: cluster, tags: tags, dryRun: dryRun, compression: compression)
        options.parent = parent
        let frozen = collector
        let snapshot = try await backupVirtualTree(repository: repository, index: try await repository.loadIndex(), options: options) { writer in
            let report = try frozen.run(into: writer)
            box.withLock { $0 = report }
        }
        var report = box.withLock { $0 }!
        for (gv, reason) in discovery.failed { report.skipped[gv] = "discovery failed: \(reason)" }
        return Result(snapshot: snapshot, report: report)
    }

    /// Stores manifests from a directory. All files are parsed before anything is stored, so a
    /// malformed manifest commits nothing.
    public static func fromDirectory(_ directory: String, repository: Repository, cluster: String, filters: ObjectFilters,
                                     tags: [String] = [], dryRun: Bool = false, compression: Compression = .auto) async throws -> Result {
        let all = try Manifests.read(directory: directory)
        var planOptions = ObjectRestoreOptions()
        planOptions.filters = filters
        planOptions.filters.includeClusterResources = filters.includeClusterResources ?? true
        let keep = Set(RestorePlanner.plan(all, options: planOptions).map(\.source.reference))
        let objects = all.filter { keep.contains($0.reference) }
        var report = CollectionReport(cluster: cluster, server: "dir:" + directory)
        let options = snapshotOptions(cluster: cluster, tags: tags, dryRun: dryRun, compression: compression)
        let counts = Locked<[String: Int]>([:])
        let snapshot = try await backupVirtualTree(repository: repository, index: try await repository.loadIndex(), options: options) { writer in
            let c = try Manifests.store(objects, cluster: cluster, into: writer)
            counts.withLock { $0 = c }
            var w = JSONWriter()
            w.beginObject()
            w.key("cluster"); w.string(cluster)
            w.key("source"); w.string("dir:" + directory)
            w.key("filters"); filters.describe(into: &w)
            w.key("counts"); w.beginObject()
            for (k, v) in c.sorted(by: { $0.key < $1.key }) { w.key(k); w.number(v) }
            w.endObject()
            w.endObject()
            try writer.addFile([SnapshotLayout.root, cluster, SnapshotLayout.metadataFile], contents: w.bytes, mtime: .epoch)
        }
        report.counts = counts.withLock { $0 }
        return Result(snapshot: snapshot, report: report)
    }
}

/// Object references and content IDs of a stored cluster, from trees only (no file loads).
public struct ObjectListing: Sendable {
    public var entries: [String: [ID]]

    public static func load(_ objects: SnapshotObjects, cluster: String) async throws -> ObjectListing {
        var entries: [String: [ID]] = [:]
        guard let resources = try await objects.subtree(of: objects.tree, path: [SnapshotLayout.root, cluster, "resources"]) else {
            return ObjectListing(entries: [:])
        }
        let repo = objects.repository, index = objects.index
        for r in try await repo.loadTree(resources, index: index).nodes where r.type == .dir {
            let scopes = try await repo.loadTree(r.subtree!, index: index)
            if let ns = scopes.node(named: Array("namespaces".utf8))?.subtree {
                for n in try await repo.loadTree(ns, index: index).nodes where n.type == .dir {
                    for f in try await repo.loadTree(n.subtree!, index: index).nodes where f.type == .file {
                        entries["namespaces/\(n.displayName)/\(r.displayName)/\(f.displayName.dropLast(5))"] = f.content ?? []
                    }
                }
            }
            if let cl = scopes.node(named: Array("cluster".utf8))?.subtree {
                for f in try await repo.loadTree(cl, index: index).nodes where f.type == .file {
                    entries["cluster/\(r.displayName)/\(f.displayName.dropLast(5))"] = f.content ?? []
                }
            }
        }
        return ObjectListing(entries: entries)
    }

    /// Added, removed and changed references from `self` to `other`.
    public func diff(to other: ObjectListing) -> (added: [String], removed: [String], changed: [String]) {
        let added = other.entries.keys.filter { entries[$0] == nil }.sorted()
        let removed = entries.keys.filter { other.entries[$0] == nil }.sorted()
        let changed = entries.compactMap { k, v in other.entries[k].map { $0 != v ? k : nil } ?? nil }.sorted()
        return (added, removed, changed)
    }
}
