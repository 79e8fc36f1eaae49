public import LifeboatCore
import LifeboatHTTP

/// One listable kind of object the server serves, in its group's preferred version.
public struct APIResource: Sendable, Hashable {
    public var group: String
    public var version: String
    /// Plural resource name used in URLs.
    public var name: String
    public var kind: String
    public var namespaced: Bool
    public var verbs: [String]
    public var shortNames: [String] = []
    public var singularName: String = ""

    public init(group: String, version: String, name: String, kind: String, namespaced: Bool, verbs: [String]) {
        self.group = group; self.version = version; self.name = name; self.kind = kind
        self.namespaced = namespaced; self.verbs = verbs
    }

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `deployments.apps`, or `configmaps` for the core group: the snapshot directory name.
    public var qualifiedName: String { group.isEmpty ? name : "\(name).\(group)" }
    public var prefix: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    public func collectionPath(namespace: String?) -> String {
        if namespaced, let namespace { return "\(prefix)/namespaces/\(namespace)/\(name)" }
        return "\(prefix)/\(name)"
    }

    public func objectPath(namespace: String?, name object: String) -> String {
        collectionPath(namespace: namespace) + "/" + percentEncodePath(object)
    }
}

func percentEncodePath(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            out += "%" + String(b, radix: 16, uppercase: true).leftPad(2)
        }
    }
    return out
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// What the server serves: every resource once, in its group's preferred version.
public struct Discovery: Sendable {
    public var resources: [APIResource]
    /// Group-versions that could not be read (e.g. an aggregated API server answering 503).
    public var failed: [String: String] = [:]
    public var aggregated = false

    public func resource(group: String, name: String) -> APIResource? {
        resources.first { $0.group == group && $0.name == name }
    }

    public func resource(group: String, kind: String) -> APIResource? {
        resources.first { $0.group == group && $0.kind == kind }
    }

    static let aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

    /// Aggregated discovery when the server offers it, else the per-group-version walk.
    public static func load(_ client: KubeClient, preferAggregated: Bool = true, threads: Int = 8) throws -> Discovery {
        do {
            if preferAggregated, let d = try aggregated(client) { return d }
            return try legacy(client, threads: threads)
        } catch let error as KubeAPIError {
            throw client.explain(error)
        }
    }

    private static func aggregated(_ client: KubeClient) throws -> Discovery? {
        var resources: [APIResource] = []
        for path in ["/api", "/apis"] {
            let response = try client.send("GET", path, accept: aggregatedAccept)
            guard response.isSuccess, (response.header("Content-Type") ?? "").contains("as=APIGroupDiscoveryList") else {
                if response.status == 401 || response.status == 403 { _ = try KubeClient.decode(response, method: "GET", path: path) }
                return nil
            }
            let doc = try KubeClient.decode(response, method: "GET", path: path)
            for item in doc["items"]?.arrayValue ?? [] {
                let group = item.string("metadata", "name") ?? ""
                // Versions come in preference order; the first one is preferred.
                guard let preferred = item["versions"]?.arrayValue?.first, let version = preferred["version"]?.stringValue else { continue }
                for r in preferred["resources"]?.arrayValue ?? [] {
                    guard let name = r["resource"]?.stringValue, !name.contains("/") else { continue }
                    var res = APIResource(group: group, version: version, name: name,
                                          kind: r.string("responseKind", "kind") ?? "",
                                          namespaced: r["scope"]?.stringValue == "Namespaced",
                                          verbs: (r["verbs"]?.arrayValue ?? []).compactMap(\.stringValue))
                    res.shortNames = (r["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
                    res.singularName = r["singularResource"]?.stringValue ?? ""
                    resources.append(res)
                }
            }
        }
        return Discovery(resources: resources, aggregated: true)
    }

    private static func legacy(_ client: KubeClient, threads: Int) throws -> Discovery {
        var groupVersions: [(String, String)] = [("", "v1")]
        let apis = try client.getJSON("/apis")
        for g in apis["groups"]?.arrayValue ?? [] {
            guard let name = g["name"]?.stringValue,
                  let version = g.string("preferredVersion", "version") ?? g["versions"]?.arrayValue?.first?["version"]?.stringValue else { continue }
            groupVersions.append((name, version))
        }
        let results = Locked<[Int: Result<[APIResource], any Error>]>([:])
        let gvs = groupVersions
        parallelFor(gvs.count, threads: threads) { i in
            let (group, version) = gvs[i]
            let path = group.isEmpty ? "/api/v1" : "/apis/\(group)/\(version)"
            let result = Result { () throws -> [APIResource] in
                let doc = try client.getJSON(path)
                return (doc["resources"]?.arrayValue ?? []).compactMap { r -> APIResource? in
                    guard let name = r["name"]?.stringValue, !name.contains("/") else { return nil }
                    var res = APIResource(group: group, version: version, name: name, kind: r["kind"]?.stringValue ?? "",
                                          namespaced: r["namespaced"]?.boolValue ?? true,
                                          verbs: (r["verbs"]?.arrayValue ?? []).compactMap(\.stringValue))
                    res.shortNames = (r["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
                    res.singularName = r["singularName"]?.stringValue ?? ""
                    return res
                }
            }
            results.withLock { $0[i] = result }
        }
        var discovery = Discovery(resources: [])
        for i in gvs.indices {
            switch results.withLock({ $0[i] })! {
            case .success(let list): discovery.resources += list
            case .failure(let error as KubeAPIError) where error.code != 401:
                discovery.failed[gvs[i].0.isEmpty ? "v1" : "\(gvs[i].0)/\(gvs[i].1)"] = "\(error.code) \(error.reason)"
            case .failure(let error): throw error
            }
        }
        return discovery
    }
}
