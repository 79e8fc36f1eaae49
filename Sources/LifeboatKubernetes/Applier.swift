public import LifeboatCore

/// What happened to one object in a restore.
public struct RestoreOutcome: Sendable {
    public enum Action: String, Sendable { case created, updated, unchanged, skipped, failed, planned }
    public var resourceDirectory: String
    public var namespace: String?
    public var name: String
    public var action: Action
    public var reason: String?

    public init(resourceDirectory: String, namespace: String?, name: String, action: Action, reason: String?) {
        self.resourceDirectory = resourceDirectory; self.namespace = namespace; self.name = name
        self.action = action; self.reason = reason
    }
}

/// Creates planned objects through the API in order: CRDs first (waiting until each is
/// Established, then refreshing discovery), then by priority.
public struct Applier: Sendable {
    public let client: KubeClient
    public var policy: ExistingResourcePolicy
    public var dryRun = false
    /// How long to wait for a CRD to become Established.
    public var crdTimeout: Double = 60

    public init(client: KubeClient, policy: ExistingResourcePolicy) {
        self.client = client; self.policy = policy
    }

    public func apply(_ plan: [PlannedObject]) throws -> [RestoreOutcome] {
        var discovery = try Discovery.load(client)
        var outcomes: [RestoreOutcome] = []
        var crdsCreated: [String] = []
        var refreshed = true
        for p in plan {
            var outcome = RestoreOutcome(resourceDirectory: p.resourceDirectory, namespace: p.namespace, name: p.object.string("metadata", "name") ?? p.name,
                                         action: .skipped, reason: p.skipReason)
            if p.skipReason != nil { outcomes.append(outcome); continue }
            if dryRun { outcome.action = .planned; outcome.reason = nil; outcomes.append(outcome); continue }
            // Custom resources need their CRDs established and discovery refreshed.
            if p.resourceDirectory != "customresourcedefinitions.apiextensions.k8s.io" && !crdsCreated.isEmpty && !refreshed {
                for name in crdsCreated { try waitEstablished(name) }
                discovery = try Discovery.load(client)
                refreshed = true
            }
            let (resource, group) = SnapshotLayout.split(resourceDirectory: p.resourceDirectory)
            guard let served = discovery.resource(group: group, name: resource) else {
                outcome.action = .failed
                outcome.reason = "the target cluster does not serve \(p.resourceDirectory)"
                outcomes.append(outcome)
                continue
            }
            // Send in the version the object was stored in when the server still serves it.
            var target = served
            if let apiVersion = p.object["apiVersion"]?.stringValue {
                target.version = String(apiVersion.split(separator: "/").last ?? Substring(served.version))
            }
            do {
                (outcome.action, outcome.reason) = try createOrReconcile(p, resource: target)
                if p.resourceDirectory == "customresourcedefinitions.apiextensions.k8s.io" && outcome.action == .created {
                    crdsCreated.append(outcome.name)
                    refreshed = false
                }
            } catch let error as KubeAPIError {
                if error.code == 401 { throw client.explain(error) }
                outcome.action = .failed
                outcome.reason = "\(error.code) \(error.reason): \(error.message)"
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    private func createOrReconcile(_ p: PlannedObject, resource r: APIResource) throws -> (RestoreOutcome.Action, String?) {
        let body = p.object.serialized()
        let collection = r.collectionPath(namespace: p.namespace)
        let response = try client.send("POST", collection, body: body)
        if response.isSuccess { return (.created, nil) }
        let decoded = Result { try KubeClient.decode(response, method: "POST", path: collection) }
        guard case .failure(let error as KubeAPIError) = decoded, error.code == 409, error.reason == "AlreadyExists" else {
            _ = try decoded.get()
            return (.created, nil)
        }
        let name = p.object.string("metadata", "name") ?? p.name
        let path = r.objectPath(namespace: p.namespace, name: name)
        let existing = try client.getJSON(path)
        var live = StoredObject(resourceDirectory: p.resourceDirectory, namespace: p.namespace, name: name, document: existing)
        live.document.set("status", p.object["status"] ?? .null)
        if p.object["status"] == nil { live.document.remove("status") }
        var options = ObjectRestoreOptions()
        options.restoreStatus = true
        let comparable = RestorePlanner.prepare(live, options: options)
        if Self.contains(comparable, p.object) { return (.unchanged, "already exists with the same content") }
        switch policy {
        case .none:
            return (.skipped, "already exists and differs (use --existing-resource-policy update to patch it)")
        case .update:
            let patch = client.sendPatch(path, body: Self.mergePatch(live: existing, desired: p.object).serialized())
            _ = try KubeClient.decode(try patch(), method: "PATCH", path: path)
            return (.updated, "already existed and differed; patched")
        }
    }

    /// True when every field set in `desired` has the same value in `live` (the server adds defaults).
    /// The desired object plus `null` for keys of exact maps that only the live object has
    /// (a merge patch would otherwise keep them).
    static func mergePatch(live: JSONValue, desired: JSONValue) -> JSONValue {
        guard case .object(var members) = desired, case .object(let liveMembers) = live else { return desired }
        for i in members.indices {
            let key = members[i].key
            guard let l = live[key] else { continue }
            if exactMaps.contains(key), case .object(var d) = members[i].value, case .object(let lm) = l {
                for extra in lm where members[i].value[extra.key] == nil { d.append(.init(key: extra.key, value: .null)) }
                members[i].value = .object(d)
            } else if case .object = members[i].value {
                members[i].value = mergePatch(live: l, desired: members[i].value)
            }
        }
        for l in liveMembers where exactMaps.contains(l.key) && desired[l.key] == nil { members.append(.init(key: l.key, value: .null)) }
        return .object(members)
    }

    /// Maps compared exactly (keys the backup lacks count as drift): data, labels, annotations.
    static let exactMaps: Set<String> = ["data", "binaryData", "stringData", "labels", "annotations"]

    static func contains(_ live: JSONValue, _ desired: JSONValue) -> Bool {
        switch (live, desired) {
        case (.object(let liveMembers), .object(let members)):
            return members.allSatisfy { m in
                if exactMaps.contains(m.key), case .object(let l)? = live[m.key], case .object(let d) = m.value, l.count != d.count { return false }
                return live[m.key].map { contains($0, m.value) } ?? m.value.isNull
            } && liveMembers.allSatisfy { !exactMaps.contains($0.key) || desired[$0.key] != nil || ($0.value.objectValue?.isEmpty ?? false) }
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { contains($0, $1) }
        default:
            return live.sameContent(as: desired)
        }
    }

    private func waitEstablished(_ name: String) throws {
        let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + percentEncodePath(name)
        let start = Timestamp.now()
        while true {
            let crd = try client.getJSON(path)
            let established = (crd["status"]?["conditions"]?.arrayValue ?? []).contains {
                $0["type"]?.stringValue == "Established" && $0["status"]?.stringValue == "True"
            }
            if established { return }
            if Double(Timestamp.now().seconds - start.seconds) > crdTimeout {
                throw LifeboatError(.backend, "CustomResourceDefinition \(name) did not become Established within \(Int(crdTimeout)) s",
                                    hint: "check the CRD's status conditions with kubectl describe crd \(name)")
            }
            sleepSeconds(0.2)
        }
    }
}

extension KubeClient {
    /// A JSON merge patch (RFC 7386) that sets every field of the backed-up object.
    func sendPatch(_ path: String, body: [UInt8]) -> () throws -> LifeboatHTTP.HTTPResponse {
        { try self.send("PATCH", path, body: body, contentType: "application/merge-patch+json") }
    }
}

import LifeboatHTTP
