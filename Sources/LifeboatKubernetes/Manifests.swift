public import LifeboatCore
public import LifeboatArchive

public enum ManifestFormat: String, Sendable { case yaml, json }

/// Manifests on disk: restore writes them, `backup --from-dir` reads them.
public enum Manifests {
    /// Writes one file per object, named so that `kubectl apply -f DIR` (lexical order) creates
    /// them in restore order: `00001-namespaces-_-shop.yaml`.
    /// - Returns: the paths written.
    public static func write(_ plan: [PlannedObject], to directory: String, format: ManifestFormat) throws -> [String] {
        try System.makeDirectories(directory)
        var written: [String] = []
        var sequence = 0
        for p in plan where p.skipReason == nil {
            sequence += 1
            let name = p.object.string("metadata", "name") ?? p.name
            let file = "\(String(sequence).leftPad(5))-\(p.resourceDirectory)-\(p.namespace ?? "_")-\(name).\(format.rawValue)"
            let text = format == .yaml ? try YAML.render(p.object) : p.object.pretty()
            try System.writeFile(directory + "/" + file, Array(text.utf8))
            written.append(file)
        }
        return written
    }

    /// Every object in the YAML/JSON files under `directory` (recursively; multi-document YAML
    /// and `kind: List` are expanded).
    /// - Throws: `.invalidArgument` naming the file for malformed YAML or an object without
    ///   apiVersion, kind or metadata.name; nothing is returned then.
    public static func read(directory: String) throws -> [StoredObject] {
        guard System.isDirectory(directory) else {
            throw LifeboatError(.invalidArgument, "\(directory) is not a directory", hint: "--from-dir takes a directory of YAML or JSON manifests")
        }
        var out: [StoredObject] = []
        var seen = Set<String>()
        for file in try files(under: directory) {
            let text = String(decoding: try System.readFile(file), as: UTF8.self)
            for doc in try YAML.documents(text, source: file) {
                let items = doc["kind"]?.stringValue?.hasSuffix("List") == true ? (doc["items"]?.arrayValue ?? []) : [doc]
                for item in items {
                    guard case .object = item, let apiVersion = item["apiVersion"]?.stringValue, let kind = item["kind"]?.stringValue,
                          let name = item.string("metadata", "name"), !name.isEmpty, !name.contains("/") else {
                        throw LifeboatError(.invalidArgument, "\(file) holds a document without apiVersion, kind and metadata.name",
                                            hint: "every manifest must be a Kubernetes object; fix or remove the file")
                    }
                    let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
                    let resource = KindTable.resource(forKind: kind)
                    let dir = group.isEmpty ? resource : "\(resource).\(group)"
                    let namespace = KindTable.clusterScoped.contains(kind) ? nil : (item.string("metadata", "namespace") ?? "default")
                    let key = "\(dir)/\(namespace ?? "")/\(name)"
                    guard seen.insert(key).inserted else {
                        throw LifeboatError(.invalidArgument, "\(file): \(kind) \(namespace.map { $0 + "/" } ?? "")\(name) is defined twice under \(directory)")
                    }
                    out.append(StoredObject(resourceDirectory: dir, namespace: namespace, name: name, document: item))
                }
            }
        }
        return out
    }

    static func files(under directory: String) throws -> [String] {
        var out: [String] = []
        for name in try System.list(directory) where !name.hasPrefix(".") {
            let path = directory + "/" + name
            if System.isDirectory(path) { out += try files(under: path) }
            else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json") { out.append(path) }
        }
        return out
    }

    /// Stores manifests in the snapshot layout (the document as written, not stripped).
    public static func store(_ objects: [StoredObject], cluster: String, into writer: VirtualTreeWriter) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for o in objects {
            try writer.addFile(SnapshotLayout.objectPath(cluster: cluster, resourceDirectory: o.resourceDirectory, namespace: o.namespace, name: o.name),
                               contents: o.document.serialized(), mtime: .epoch)
            counts[o.resourceDirectory, default: 0] += 1
        }
        return counts
    }
}

/// Kind → resource without a server (for manifests on disk), following the API server's
/// own guess (lowercase, then -s/-es/-ies) with its irregular cases.
enum KindTable {
    static let irregular: [String: String] = ["Endpoints": "endpoints", "PodSecurityPolicy": "podsecuritypolicies"]
    static let clusterScoped: Set<String> = [
        "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
        "CustomResourceDefinition", "PriorityClass", "IngressClass", "APIService", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CSIDriver",
        "CSINode", "RuntimeClass", "VolumeAttachment", "CertificateSigningRequest", "FlowSchema",
        "PriorityLevelConfiguration", "ComponentStatus", "VolumeSnapshotClass", "VolumeSnapshotContent", "ClusterIssuer",
    ]

    static func resource(forKind kind: String) -> String {
        if let r = irregular[kind] { return r }
        let lower = kind.lowercased()
        if lower.hasSuffix("s") || lower.hasSuffix("x") || lower.hasSuffix("ch") || lower.hasSuffix("sh") { return lower + "es" }
        if lower.hasSuffix("y"), let before = lower.dropLast().last, !"aeiou".contains(before) { return lower.dropLast() + "ies" }
        return lower + "s"
    }
}
