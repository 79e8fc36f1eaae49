public import LifeboatCore
public import LifeboatRepository

/// One Kubernetes object read back from a snapshot (or from manifests on disk).
public struct StoredObject: Sendable {
    /// `deployments.apps`, `configmaps`.
    public var resourceDirectory: String
    public var namespace: String?
    public var name: String
    public var document: JSONValue

    public init(resourceDirectory: String, namespace: String?, name: String, document: JSONValue) {
        self.resourceDirectory = resourceDirectory; self.namespace = namespace; self.name = name; self.document = document
    }

    public var resource: String { SnapshotLayout.split(resourceDirectory: resourceDirectory).resource }
    public var group: String { SnapshotLayout.split(resourceDirectory: resourceDirectory).group }
    public var kind: String { document["kind"]?.stringValue ?? "" }
    /// `namespaces/shop/deployments.apps/web` or `cluster/persistentvolumes/pv1`.
    public var reference: String {
        namespace.map { "namespaces/\($0)/\(resourceDirectory)/\(name)" } ?? "cluster/\(resourceDirectory)/\(name)"
    }
}

/// Reads the objects of one cluster from a snapshot, loading only the trees and files the
/// filters can match (a single object costs a handful of tree loads, not the whole snapshot).
public struct SnapshotObjects: Sendable {
    public let repository: Repository
    public let index: MasterIndex
    public let tree: ID

    public init(repository: Repository, index: MasterIndex, tree: ID) {
        self.repository = repository; self.index = index; self.tree = tree
    }

    /// Clusters stored under /kubernetes.
    public func clusters() async throws -> [String] {
        guard let dir = try await subtree(of: tree, named: SnapshotLayout.root) else { return [] }
        return try await repository.loadTree(dir, index: index).nodes.filter { $0.type == .dir }.map(\.displayName)
    }

    /// The cluster to read: the one given, or the only one in the snapshot.
    public func cluster(_ requested: String?) async throws -> String {
        let all = try await clusters()
        if let requested {
            guard all.contains(requested) else {
                throw LifeboatError(.notFound, "the snapshot holds no Kubernetes cluster named \(requested)",
                                    hint: all.isEmpty ? "it holds no Kubernetes backup" : "it holds: \(all.joined(separator: ", "))")
            }
            return requested
        }
        guard all.count == 1 else {
            throw LifeboatError(.invalidArgument, all.isEmpty ? "the snapshot holds no Kubernetes backup" : "the snapshot holds several clusters",
                                hint: all.isEmpty ? "choose a snapshot made by `lifeboat k8s backup`" : "choose one with --cluster-name (\(all.joined(separator: ", ")))")
        }
        return all[0]
    }

    public func metadata(cluster: String) async throws -> JSONValue? {
        guard let dir = try await subtree(of: tree, path: [SnapshotLayout.root, cluster]),
              let node = try await repository.loadTree(dir, index: index).node(named: Array(SnapshotLayout.metadataFile.utf8)) else { return nil }
        return try JSONValue(parsing: try await content(of: node))
    }

    /// Objects that pass the namespace and resource filters (labels are checked by the caller).
    /// `only` restricts to object references (`namespaces/ns/res/name`, `cluster/res/name`).
    public func objects(cluster: String, filters: ObjectFilters, only references: [String] = [], threads: Int = 8) async throws -> [StoredObject] {
        guard let resourcesTree = try await subtree(of: tree, path: [SnapshotLayout.root, cluster, "resources"]) else { return [] }
        var wanted: [(dir: String, namespace: String?, file: Node)] = []
        if !references.isEmpty {
            for ref in references {
                let parts = ref.split(separator: "/").map(String.init)
                let path: [String]
                if parts.count == 4 && parts[0] == "namespaces" { path = [parts[2], "namespaces", parts[1], parts[3] + ".json"] }
                else if parts.count == 3 && parts[0] == "cluster" { path = [parts[1], "cluster", parts[2] + ".json"] }
                else {
                    throw LifeboatError(.invalidArgument, "\(ref) is not an object reference",
                                        hint: "use namespaces/NAMESPACE/RESOURCE[.GROUP]/NAME or cluster/RESOURCE[.GROUP]/NAME")
                }
                guard let dir = try await subtree(of: resourcesTree, path: Array(path.dropLast())),
                      let node = try await repository.loadTree(dir, index: index).node(named: Array(path.last!.utf8)) else {
                    throw LifeboatError(.notFound, "\(ref) is not in the snapshot")
                }
                wanted.append((path[0], parts[0] == "namespaces" ? parts[1] : nil, node))
            }
        } else {
            for resourceNode in try await repository.loadTree(resourcesTree, index: index).nodes where resourceNode.type == .dir {
                let dir = resourceNode.displayName
                let (resource, group) = SnapshotLayout.split(resourceDirectory: dir)
                // Kinds are only known after loading; names and groups can be ruled out now.
                if filters.resources.isExcluded(resource: resource, group: group) { continue }
                if filters.excludeSecrets && dir == "secrets" { continue }
                let scopes = try await repository.loadTree(resourceNode.subtree!, index: index)
                if let namespaces = scopes.node(named: Array("namespaces".utf8)), let sub = namespaces.subtree {
                    for nsNode in try await repository.loadTree(sub, index: index).nodes where filters.namespaces.matches(nsNode.displayName) {
                        for file in try await repository.loadTree(nsNode.subtree!, index: index).nodes where file.type == .file {
                            wanted.append((dir, nsNode.displayName, file))
                        }
                    }
                }
                if let clusterNode = scopes.node(named: Array("cluster".utf8)), let sub = clusterNode.subtree {
                    for file in try await repository.loadTree(sub, index: index).nodes where file.type == .file {
                        wanted.append((dir, nil, file))
                    }
                }
            }
        }
        let items = wanted
        let reader = self
        return try await concurrentMap(items, limit: threads) { item in
            let bytes = try await reader.content(of: item.file)
            let document: JSONValue
            do { document = try JSONValue(parsing: bytes) } catch {
                throw LifeboatError(.corrupt, "the stored object \(item.dir)/\(item.namespace ?? "")/\(item.file.displayName) is not valid JSON")
            }
            var name = item.file.displayName
            if name.hasSuffix(".json") { name.removeLast(5) }
            return StoredObject(resourceDirectory: item.dir, namespace: item.namespace, name: name, document: document)
        }
    }

    func content(of node: Node) async throws -> [UInt8] {
        var out: [UInt8] = []
        for id in node.content ?? [] { out += try await repository.loadBlob(id, type: .data, index: index) }
        return out
    }

    func subtree(of tree: ID, named name: String) async throws -> ID? {
        try await repository.loadTree(tree, index: index).node(named: Array(name.utf8))?.subtree
    }

    func subtree(of tree: ID, path: [String]) async throws -> ID? {
        var current: ID? = tree
        for name in path {
            guard let id = current else { return nil }
            current = try await subtree(of: id, named: name)
        }
        return current
    }
}
