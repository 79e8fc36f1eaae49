public import LifeboatCore
public import LifeboatArchive

/// What a backup from a cluster did.
public struct CollectionReport: Sendable {
    public var cluster: String
    public var server: String
    public var serverVersion: String = ""
    /// Objects stored per resource directory name.
    public var counts: [String: Int] = [:]
    /// Resources the server refused (403) or failed on, with the reason; the backup is partial.
    public var skipped: [String: String] = [:]
    /// Lists restarted after their continue token expired (410).
    public var restartedLists: [String] = []
    public var objects: Int { counts.values.reduce(0, +) }
}

/// Lists every selected resource (paged, several in flight) and stores each object as one
/// JSON file in the snapshot tree.
public struct Collector: Sendable {
    public let client: KubeClient
    public let discovery: Discovery
    public let filters: ObjectFilters
    public let cluster: String
    public var pageSize = 500
    public var concurrency = 8

    public init(client: KubeClient, discovery: Discovery, filters: ObjectFilters, cluster: String) {
        self.client = client; self.discovery = discovery; self.filters = filters; self.cluster = cluster
    }

    /// The resources this backup lists, namespaced and cluster-scoped.
    public func selectedResources() -> (namespaced: [APIResource], cluster: [APIResource]) {
        var namespaced: [APIResource] = [], clusterScoped: [APIResource] = []
        for r in discovery.resources where r.verbs.contains("list") && r.verbs.contains("get") {
            let explicit = filters.resources.namesExplicitly(r)
            guard filters.resources.matches(r) else { continue }
            if SnapshotLayout.skippedByDefault.contains(r.qualifiedName) && !explicit { continue }
            if filters.excludeSecrets && r.qualifiedName == "secrets" { continue }
            if r.namespaced { namespaced.append(r) } else { clusterScoped.append(r) }
        }
        return (namespaced, clusterScoped)
    }

    public func run(into writer: VirtualTreeWriter) throws -> CollectionReport {
        var report = CollectionReport(cluster: cluster, server: client.connection.server)
        do {
            let version = try client.getJSON("/version")
            report.serverVersion = version["gitVersion"]?.stringValue ?? ""
        } catch let error as KubeAPIError {
            throw client.explain(error)
        }
        let (namespaced, clusterScoped) = selectedResources()
        let includeAllCluster = filters.includeClusterResources ?? filters.namespaces.isEverything
        let state = Locked(CollectState())

        // Work items: one list per resource, or per resource and namespace when namespaces are named.
        var work: [(APIResource, String?)] = []
        let literal = filters.namespaces.literalNames
        for r in namespaced {
            if let names = literal { work += names.map { (r, $0) } } else { work.append((r, nil)) }
        }
        if includeAllCluster {
            work += clusterScoped.map { ($0, nil) }
        } else if let ns = clusterScoped.first(where: { $0.qualifiedName == "namespaces" }) {
            work.append((ns, nil))  // Namespace objects of the included namespaces, always
        }
        let items = work
        parallelFor(items.count, threads: concurrency) { i in
            let (resource, namespace) = items[i]
            do {
                try listAll(resource, namespace: namespace, writer: writer, state: state, clusterIncluded: includeAllCluster)
            } catch {
                state.withLock { $0.record(error, for: resource) }
            }
        }
        if let error = state.withLock({ $0.fatal }) { throw (error as? KubeAPIError).map(client.explain) ?? error }

        if !includeAllCluster && filters.includeClusterResources != false {
            try addReferencedClusterObjects(writer: writer, state: state)
            if let error = state.withLock({ $0.fatal }) { throw (error as? KubeAPIError).map(client.explain) ?? error }
        }
        let final = state.withLock { $0 }
        report.counts = final.counts
        report.skipped = final.skipped
        report.restartedLists = final.restarted.sorted()
        try writeMetadata(report, into: writer)
        return report
    }

    private func listAll(_ r: APIResource, namespace: String?, writer: VirtualTreeWriter, state: Locked<CollectState>,
                         clusterIncluded: Bool) throws {
        var restarts = 0
        var stored: [String] = []
        while true {
            do {
                var continueToken: String?
                repeat {
                    var query = "?limit=\(pageSize)"
                    if filters.selectors.count == 1 && r.qualifiedName != "namespaces" {
                        query += "&labelSelector=" + percentEncodeQuery(filters.selectors[0].description)
                    }
                    if let token = continueToken { query += "&continue=" + percentEncodeQuery(token) }
                    let page = try client.getJSON(r.collectionPath(namespace: namespace) + query)
                    continueToken = page.string("metadata", "continue").flatMap { $0.isEmpty ? nil : $0 }
                    for item in page["items"]?.arrayValue ?? [] {
                        if let name = try store(item, of: r, writer: writer, state: state, clusterIncluded: clusterIncluded) {
                            stored.append(name)
                        }
                    }
                } while continueToken != nil
                return
            } catch let error as KubeAPIError where error.code == 410 && restarts < 3 {
                // The continue token expired (etcd compacted): list again from the start,
                // replacing what the first attempt stored is impossible, so skip names already stored.
                restarts += 1
                state.withLock { $0.restarted.insert(r.qualifiedName) }
                let already = Set(stored)
                state.withLock { $0.alreadyStored[r.qualifiedName, default: []].formUnion(already) }
            }
        }
    }

    /// Stores one listed object; returns its key, or nil if filtered out.
    private func store(_ item: JSONValue, of r: APIResource, writer: VirtualTreeWriter, state: Locked<CollectState>,
                       clusterIncluded: Bool, referenced: Bool = false) throws -> String? {
        guard let name = item.string("metadata", "name") else { return nil }
        let namespace = r.namespaced ? (item.string("metadata", "namespace") ?? "") : nil
        if let namespace, !filters.namespaces.matches(namespace) { return nil }
        if r.qualifiedName == "namespaces" {
            if !clusterIncluded && !filters.namespaces.matches(name) { return nil }
        } else if !referenced && !filters.labelsMatch(item) {
            return nil
        }
        let key = (namespace ?? "") + "/" + name
        if state.withLock({ $0.alreadyStored[r.qualifiedName]?.contains(key) ?? false }) { return key }
        // Typed lists omit kind and apiVersion on items; put them back so each file stands alone.
        var document = item
        if document["kind"] == nil || document["apiVersion"] == nil, case .object(var members) = document {
            members.removeAll { $0.key == "kind" || $0.key == "apiVersion" }
            members.insert(.init(key: "kind", value: .string(r.kind)), at: 0)
            members.insert(.init(key: "apiVersion", value: .string(r.groupVersion)), at: 0)
            document = .object(members)
        }
        // A stable time (the object's creation) keeps unchanged trees identical across backups.
        let mtime = item.string("metadata", "creationTimestamp").flatMap { Timestamp(rfc3339: $0) } ?? .epoch
        try writer.addFile(SnapshotLayout.objectPath(cluster: cluster, resourceDirectory: r.qualifiedName, namespace: namespace, name: name),
                           contents: document.serialized(), mtime: mtime)
        state.withLock { s in
            s.counts[r.qualifiedName, default: 0] += 1
            s.alreadyStored[r.qualifiedName, default: []].insert(key)
            if r.qualifiedName == "persistentvolumeclaims", let pv = item.string("spec", "volumeName"), !pv.isEmpty {
                s.volumeNames.insert(pv)
            }
            if !r.group.isEmpty { s.usedGroups.insert(r.qualifiedName) }
        }
        return key
    }

    /// Auto mode with a namespace filter: the PVs bound to stored PVCs and the CRDs of stored custom resources.
    private func addReferencedClusterObjects(writer: VirtualTreeWriter, state: Locked<CollectState>) throws {
        let (volumes, used) = state.withLock { ($0.volumeNames, $0.usedGroups) }
        if let pv = discovery.resource(group: "", name: "persistentvolumes"), !filters.resources.isExcluded(resource: pv.name, group: "", kind: pv.kind) {
            for name in volumes.sorted() {
                do {
                    let object = try client.getJSON(pv.objectPath(namespace: nil, name: name))
                    _ = try store(object, of: pv, writer: writer, state: state, clusterIncluded: true, referenced: true)
                } catch let error as KubeAPIError where error.code == 404 {
                    continue
                } catch {
                    state.withLock { $0.record(error, for: pv) }
                }
            }
        }
        if let crd = discovery.resource(group: "apiextensions.k8s.io", name: "customresourcedefinitions"), !used.isEmpty,
           !filters.resources.isExcluded(resource: crd.name, group: crd.group, kind: crd.kind) {
            for name in used.sorted() {
                do {
                    let object = try client.getJSON(crd.objectPath(namespace: nil, name: name))
                    _ = try store(object, of: crd, writer: writer, state: state, clusterIncluded: true, referenced: true)
                } catch let error as KubeAPIError where error.code == 404 {
                    continue  // a built-in group, not a CRD
                } catch {
                    state.withLock { $0.record(error, for: crd) }
                }
            }
        }
    }

    private func writeMetadata(_ report: CollectionReport, into writer: VirtualTreeWriter) throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("cluster"); w.string(report.cluster)
        w.key("server"); w.string(report.server)
        w.key("serverVersion"); w.string(report.serverVersion)
        w.key("filters"); filters.describe(into: &w)
        w.key("counts"); w.beginObject()
        for (k, v) in report.counts.sorted(by: { $0.key < $1.key }) { w.key(k); w.number(v) }
        w.endObject()
        w.key("skipped"); w.beginObject()
        for (k, v) in report.skipped.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.key("failedGroupVersions"); w.beginObject()
        for (k, v) in discovery.failed.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.endObject()
        try writer.addFile([SnapshotLayout.root, cluster, SnapshotLayout.metadataFile], contents: w.bytes, mtime: .epoch)
    }
}

struct CollectState {
    var counts: [String: Int] = [:]
    var skipped: [String: String] = [:]
    var restarted: Set<String> = []
    var alreadyStored: [String: Set<String>] = [:]
    var volumeNames: Set<String> = []
    var usedGroups: Set<String> = []
    var fatal: (any Error)?

    /// 403/404/405 skip the resource (partial backup); anything else stops the backup.
    mutating func record(_ error: any Error, for r: APIResource) {
        if let api = error as? KubeAPIError, [403, 404, 405, 503].contains(api.code) {
            skipped[r.qualifiedName] = "\(api.code) \(api.reason): \(api.message)"
        } else if fatal == nil {
            fatal = error
        }
    }
}

func percentEncodeQuery(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            out += "%" + String(b, radix: 16, uppercase: true).leftPad(2)
        }
    }
    return out
}
