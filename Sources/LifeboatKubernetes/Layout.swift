/// Where objects live in a snapshot (Velero's layout):
/// `/kubernetes/<cluster>/resources/<resource>.<group>/namespaces/<ns>/<name>.json` and
/// `/kubernetes/<cluster>/resources/<resource>.<group>/cluster/<name>.json`; the core group
/// has no `.<group>` suffix. `/kubernetes/<cluster>/lifeboat-backup.json` describes the backup.
public enum SnapshotLayout {
    public static let root = "kubernetes"
    public static let metadataFile = "lifeboat-backup.json"

    public static func objectPath(cluster: String, resourceDirectory: String, namespace: String?, name: String) -> [String] {
        var path = [root, cluster, "resources", resourceDirectory]
        if let namespace { path += ["namespaces", namespace] } else { path.append("cluster") }
        path.append(name + ".json")
        return path
    }

    /// `deployments.apps` → ("deployments", "apps"); `configmaps` → ("configmaps", "").
    public static func split(resourceDirectory dir: String) -> (resource: String, group: String) {
        guard let dot = dir.firstIndex(of: ".") else { return (dir, "") }
        return (String(dir[..<dot]), String(dir[dir.index(after: dot)...]))
    }

    /// Resources that mean nothing in a restore; skipped unless named in --include-resources.
    public static let skippedByDefault: Set<String> = [
        "events", "events.events.k8s.io", "nodes", "leases.coordination.k8s.io",
        "endpointslices.discovery.k8s.io", "componentstatuses", "csinodes.storage.k8s.io",
        "volumeattachments.storage.k8s.io", "csistoragecapacities.storage.k8s.io",
        "ipaddresses.networking.k8s.io", "servicecidrs.networking.k8s.io",
        "storageversionmigrations.storagemigration.k8s.io", "storageversions.internal.apiserver.k8s.io",
        "podmetrics.metrics.k8s.io", "nodemetrics.metrics.k8s.io",
    ]
}
