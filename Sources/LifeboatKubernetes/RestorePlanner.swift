public import LifeboatCore

public enum ExistingResourcePolicy: String, Sendable {
    /// Leave objects that already exist alone; report those that differ.
    case none
    /// Patch objects that exist and differ to the backed-up state.
    case update
}

public struct ObjectRestoreOptions: Sendable {
    public var filters = ObjectFilters()
    /// `--name`: only objects with these names.
    public var names: [String] = []
    public var namespaceMappings: [String: String] = [:]
    public var restoreStatus = false
    public var preserveNodePorts = false
    public var existingResourcePolicy = ExistingResourcePolicy.none
    public init() {}
}

/// One object as it will be sent (or written), or why it is left out.
public struct PlannedObject: Sendable {
    public var source: StoredObject
    /// The object with server-owned fields stripped and namespaces mapped.
    public var object: JSONValue
    public var namespace: String?
    public var priority: Int
    /// Set when the object is not restored.
    public var skipReason: String?

    public var resourceDirectory: String { source.resourceDirectory }
    public var name: String { source.name }
}

/// Velero's rules: which objects to restore, in what order, with which fields removed.
public enum RestorePlanner {
    /// Velero's default resource priorities; everything else follows, alphabetically.
    public static let priorities: [String] = [
        "customresourcedefinitions.apiextensions.k8s.io", "namespaces", "storageclasses.storage.k8s.io",
        "volumesnapshotclasses.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io",
        "volumesnapshots.snapshot.storage.k8s.io", "persistentvolumes", "persistentvolumeclaims",
        "serviceaccounts", "secrets", "configmaps", "limitranges", "pods", "replicasets.apps",
        "clusterclasses.cluster.x-k8s.io", "endpoints", "services",
    ]
    /// Never restored (Velero's non-restorable resources plus our backup skip list).
    public static let neverRestored: Set<String> = SnapshotLayout.skippedByDefault.union([
        "backups.velero.io", "restores.velero.io", "backuprepositories.velero.io",
    ])

    public static func plan(_ objects: [StoredObject], options: ObjectRestoreOptions) -> [PlannedObject] {
        let f = options.filters
        var selected: [StoredObject] = []
        var referencedCandidates: [StoredObject] = []
        for o in objects {
            let (resource, group) = SnapshotLayout.split(resourceDirectory: o.resourceDirectory)
            guard f.resources.matches(resource: resource, group: group, kind: o.kind) else { continue }
            if let ns = o.namespace, !f.namespaces.matches(ns) { continue }
            if o.namespace == nil && o.resourceDirectory == "namespaces" && !f.namespaces.matches(o.name) { continue }
            if o.namespace == nil && o.resourceDirectory != "namespaces" && f.includeClusterResources == false { continue }
            if o.namespace == nil && o.resourceDirectory != "namespaces" && f.includeClusterResources == nil && !f.namespaces.isEverything {
                // Auto with a namespace filter: only what the selected namespaced objects need (decided below).
                if ["persistentvolumes", "customresourcedefinitions.apiextensions.k8s.io"].contains(o.resourceDirectory) { referencedCandidates.append(o) }
                continue
            }
            if !options.names.isEmpty && !options.names.contains(o.name) { continue }
            if o.resourceDirectory != "namespaces" && !f.labelsMatch(o.document) { continue }
            if f.excludeSecrets && o.resourceDirectory == "secrets" { continue }
            selected.append(o)
        }
        let volumes = Set(selected.filter { $0.resourceDirectory == "persistentvolumeclaims" }.compactMap { $0.document.string("spec", "volumeName") })
        let customResources = Set(selected.map(\.resourceDirectory))
        for o in referencedCandidates where f.resources.matches(resource: o.resource, group: o.group, kind: o.kind) {
            if o.resourceDirectory == "persistentvolumes" ? volumes.contains(o.name) : customResources.contains(o.name) { selected.append(o) }
        }
        let restoredUIDs = Set(selected.compactMap { $0.document.string("metadata", "uid") })
        let rank = Dictionary(uniqueKeysWithValues: priorities.enumerated().map { ($1, $0) })
        var planned = selected.map { o -> PlannedObject in
            let namespace = o.namespace.map { options.namespaceMappings[$0] ?? $0 }
            var p = PlannedObject(source: o, object: prepare(o, options: options), namespace: namespace,
                                  priority: rank[o.resourceDirectory] ?? priorities.count)
            if neverRestored.contains(o.resourceDirectory) {
                p.skipReason = "\(o.resourceDirectory) are not restorable"
            } else if let owner = controllerOwner(o.document), restoredUIDs.contains(owner.uid) {
                p.skipReason = "owned by \(owner.kind) \(owner.name), which is restored; its controller recreates it"
            }
            return p
        }
        planned.sort { a, b in
            if a.priority != b.priority { return a.priority < b.priority }
            if a.resourceDirectory != b.resourceDirectory { return a.resourceDirectory < b.resourceDirectory }
            if (a.namespace ?? "") != (b.namespace ?? "") { return (a.namespace ?? "") < (b.namespace ?? "") }
            return a.name < b.name
        }
        return planned
    }

    static func controllerOwner(_ doc: JSONValue) -> (uid: String, kind: String, name: String)? {
        for ref in doc["metadata"]?["ownerReferences"]?.arrayValue ?? [] where ref["controller"]?.boolValue == true {
            if let uid = ref["uid"]?.stringValue { return (uid, ref["kind"]?.stringValue ?? "", ref["name"]?.stringValue ?? "") }
        }
        return nil
    }

    /// Server-owned metadata fields removed before create (Velero's resetMetadata).
    public static let strippedMetadata = ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                                          "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"]

    /// The object as it is sent: fields stripped, namespace mapped.
    public static func prepare(_ o: StoredObject, options: ObjectRestoreOptions) -> JSONValue {
        var doc = o.document
        let maps = options.namespaceMappings
        doc.update(["metadata"]) { md in
            for key in strippedMetadata { md.remove(key) }
            if let ns = md["namespace"]?.stringValue, let mapped = maps[ns] { md.set("namespace", .string(mapped)) }
            if o.namespace == nil { md.remove("namespace") }
            if o.resourceDirectory == "namespaces", let name = md["name"]?.stringValue, let mapped = maps[name] {
                md.set("name", .string(mapped))
            }
            if o.resourceDirectory == "persistentvolumeclaims" {
                md.update(["annotations"]) { a in
                    for k in ["pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller"] { a.remove(k) }
                }
            }
            if case .object(let a) = md["annotations"] ?? .null, a.isEmpty { md.remove("annotations") }
        }
        if !options.restoreStatus { doc.remove("status") }
        switch o.resourceDirectory {
        case "services":
            doc.update(["spec"]) { spec in
                // Headless services keep "None"; other addresses are allocated anew.
                if spec["clusterIP"]?.stringValue != "None" { spec.remove("clusterIP"); spec.remove("clusterIPs") }
                if !options.preserveNodePorts, case .array(let ports) = spec["ports"] ?? .null {
                    spec.set("ports", .array(ports.map { var p = $0; p.remove("nodePort"); return p }))
                }
                if !options.preserveNodePorts { spec.remove("healthCheckNodePort") }
            }
        case "persistentvolumes":
            doc.update(["spec", "claimRef"]) { ref in
                ref.remove("uid"); ref.remove("resourceVersion")
                if let ns = ref["namespace"]?.stringValue, let mapped = maps[ns] { ref.set("namespace", .string(mapped)) }
            }
        case "rolebindings.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io":
            if case .array(let subjects) = doc["subjects"] ?? .null {
                doc.set("subjects", .array(subjects.map { s in
                    var s = s
                    if let ns = s["namespace"]?.stringValue, let mapped = maps[ns] { s.set("namespace", .string(mapped)) }
                    return s
                }))
            }
        default: break
        }
        return doc
    }
}
