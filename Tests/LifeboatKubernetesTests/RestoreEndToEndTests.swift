import Foundation
import Testing

/// Restore into a fresh, empty double, to a directory, and bad input.
@Suite(.serialized) struct RestoreEndToEndTests {
    let ws: K8sWorkspace
    let source: APIServerDouble
    let sourceConfig: String

    init() throws {
        ws = try K8sWorkspace()
        source = try APIServerDouble(pki: ws.pki)
        sourceConfig = ws.root + "/source.kubeconfig"
        try source.kubeconfig(at: sourceConfig, pki: ws.pki)
        let r = try ws.lifeboat(["k8s", "backup", "--kubeconfig", sourceConfig])
        guard r.status == 0 else { throw TestFailure("backup failed: \(r)") }
    }

    func getJSON(_ config: String, _ args: [String]) throws -> [String: Any] {
        let r = try ws.kubectl(config, ["get"] + args + ["-o", "json"])
        guard r.status == 0 else { throw TestFailure("\(r)") }
        return try r.json() as? [String: Any] ?? [:]
    }

    /// Velero's rules, written out independently of the implementation.
    static func expectedAfterRestore(_ original: [String: Any], namespace: String) -> [String: Any] {
        var o = original
        o.removeValue(forKey: "status")
        var md = o["metadata"] as? [String: Any] ?? [:]
        for k in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"] { md.removeValue(forKey: k) }
        md["namespace"] = namespace
        o["metadata"] = md
        return o
    }

    static func withoutServerFields(_ o: [String: Any]) -> [String: Any] {
        var o = o
        var md = o["metadata"] as? [String: Any] ?? [:]
        for k in ["uid", "resourceVersion", "creationTimestamp"] { md.removeValue(forKey: k) }
        o["metadata"] = md
        return o
    }

    @Test func applyIntoFreshClusterWithMappingAndPolicies() throws {
        let target = try APIServerDouble(pki: ws.pki, token: "other", extra: ["--empty", "--crd-delay", "1"])
        let targetConfig = ws.root + "/target.kubeconfig"
        try target.kubeconfig(at: targetConfig, pki: ws.pki, auth: "cert", tlsServerName: true)

        let r = try ws.lifeboat(["k8s", "restore", "latest", "--apply", "--kubeconfig", targetConfig, "--include-namespaces", "default",
                                 "--namespace-mappings", "default:restored", "--json"])
        #expect(r.status == 0, "\(r)")
        let totals = r.lastJSONObject()["totals"] as? [String: Int] ?? [:]
        #expect((totals["created"] ?? 0) > 20 && totals["failed"] == 0, "\(r)")

        // Field by field: every restored ConfigMap, Secret, Deployment equals the source minus Velero's stripped fields.
        for resource in ["configmaps", "secrets", "deployments.apps", "serviceaccounts"] {
            let before = try getJSON(sourceConfig, [resource, "-n", "default"])["items"] as? [[String: Any]] ?? []
            let after = try getJSON(targetConfig, [resource, "-n", "restored"])["items"] as? [[String: Any]] ?? []
            #expect(before.count == after.count && !before.isEmpty, "\(resource)")
            for b in before {
                let name = (b["metadata"] as? [String: Any])?["name"] as? String
                let a = after.first { ($0["metadata"] as? [String: Any])?["name"] as? String == name }
                let want = NSDictionary(dictionary: Self.withoutServerFields(Self.expectedAfterRestore(b, namespace: "restored")))
                let got = NSDictionary(dictionary: Self.withoutServerFields(a ?? [:]))
                #expect(want == got, "\(resource)/\(name ?? "")")
            }
        }
        // Services: no clusterIP or nodePorts carried over; namespace object renamed.
        for svc in try getJSON(targetConfig, ["services", "-n", "restored"])["items"] as? [[String: Any]] ?? [] {
            let spec = svc["spec"] as? [String: Any] ?? [:]
            #expect(!(spec["clusterIP"] as? String ?? "").hasPrefix("10.0."), "clusterIP is allocated by the target")
            for port in spec["ports"] as? [[String: Any]] ?? [] { #expect(port["nodePort"] == nil) }
        }
        #expect(try ws.kubectl(targetConfig, ["get", "namespace", "restored"]).status == 0)
        #expect(try ws.kubectl(targetConfig, ["get", "namespace", "default"]).status == 0)
        // The Job owned by the restored CronJob is left to the controller; the CR waited for its CRD.
        let objects = r.lastJSONObject()["objects"] as? [[String: Any]] ?? []
        #expect(objects.contains { $0["resource"] as? String == "jobs.batch" && $0["action"] as? String == "skipped" })
        #expect(try ws.kubectl(targetConfig, ["get", "rockbands.music.example.io", "-n", "restored", "beatles"]).status == 0)

        // Again: everything exists unchanged. Then one object drifts: none reports it, update patches it back.
        let again = try ws.lifeboat(["k8s", "restore", "latest", "--apply", "--kubeconfig", targetConfig, "--include-namespaces", "default",
                                     "--namespace-mappings", "default:restored", "--json"])
        #expect((again.lastJSONObject()["totals"] as? [String: Int])?["created"] == 0, "\(again)")
        let patch = try ws.kubectl(targetConfig, ["patch", "configmap", "blee", "-n", "restored", "--type", "merge", "-p", #"{"data":{"drift":"yes"}}"#])
        #expect(patch.status == 0, "\(patch)")
        let none = try ws.lifeboat(["k8s", "restore", "latest", "--apply", "--kubeconfig", targetConfig, "namespaces/default/configmaps/blee",
                                    "--namespace-mappings", "default:restored", "--json"])
        let noneObjects = none.lastJSONObject()["objects"] as? [[String: Any]] ?? []
        #expect(noneObjects.first?["action"] as? String == "skipped" && (noneObjects.first?["reason"] as? String ?? "").contains("differs"), "\(none)")
        let update = try ws.lifeboat(["k8s", "restore", "latest", "--apply", "--kubeconfig", targetConfig, "namespaces/default/configmaps/blee",
                                      "--namespace-mappings", "default:restored", "--existing-resource-policy", "update", "--json"])
        #expect((update.lastJSONObject()["objects"] as? [[String: Any]])?.first?["action"] as? String == "updated", "\(update)")
    }

    @Test(arguments: ["yaml", "json"])
    func toDirectoryAndBackFromDirectory(format: String) throws {
        let dir = ws.root + "/out-" + format
        let r = try ws.lifeboat(["k8s", "restore", "latest", "--to-dir", dir, "--output", format, "--include-namespaces", "default,icx",
                                 "--namespace-mappings", "icx:icx2"])
        #expect(r.status == 0, "\(r)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files.first?.contains("customresourcedefinitions") == true || files.first?.contains("namespaces") == true)
        let b = try ws.lifeboat(["k8s", "backup", "--from-dir", dir, "--cluster-name", "fromdir-" + format])
        #expect(b.status == 0, "\(b)")
        let reread = try ws.storedReferences("latest")
        #expect(reread.contains("namespaces/icx2/deployments.apps/icx-db"))
        #expect(!reread.contains { $0.contains("/jobs.batch/hello-") }, "owned jobs are not written")
        // Types survive the YAML/JSON round trip (numbers stay numbers, status is gone).
        let dump = try ws.lifeboat(["dump", "latest", "/kubernetes/fromdir-\(format)/resources/deployments.apps/namespaces/icx2/icx-db.json"])
        let doc = try JSONSerialization.jsonObject(with: Data(dump.out.utf8)) as? [String: Any]
        let spec = doc?["spec"] as? [String: Any]
        #expect(spec?["replicas"] is NSNumber && !(spec?["replicas"] is String), "\(dump)")
        #expect(doc?["status"] == nil && (doc?["metadata"] as? [String: Any])?["uid"] == nil)
    }

    @Test func badInput() throws {
        let before = try ws.snapshotCount()
        // 403: skipped with a warning, snapshot saved, exit 3.
        let forbidding = try APIServerDouble(pki: ws.pki, extra: ["--forbid", "secrets"])
        let fc = ws.root + "/forbid.kubeconfig"
        try forbidding.kubeconfig(at: fc, pki: ws.pki, clusterName: "forbid")
        let f = try ws.lifeboat(["k8s", "backup", "--kubeconfig", fc])
        #expect(f.status == 3 && f.err.contains("secrets") && f.err.contains("403"), "\(f)")
        #expect(try ws.snapshotCount() == before + 1)
        // 401: nothing committed.
        let bad = ws.root + "/bad.kubeconfig"
        try forbidding.kubeconfig(at: bad, pki: ws.pki, auth: "expired-token")
        let u = try ws.lifeboat(["k8s", "backup", "--kubeconfig", bad])
        #expect(u.status == 1 && u.err.contains("401") && !u.err.contains("expired-token"), "\(u)")
        // Unreachable server.
        let gone = ws.root + "/gone.kubeconfig"
        try String(contentsOfFile: bad, encoding: .utf8).replacingOccurrences(of: "127.0.0.1:\(forbidding.port)", with: "127.0.0.1:1")
            .write(toFile: gone, atomically: true, encoding: .utf8)
        let g = try ws.lifeboat(["k8s", "backup", "--kubeconfig", gone])
        #expect(g.status == 1 && g.err.contains("cannot reach"), "\(g)")
        // Malformed kubeconfig.
        let broken = ws.root + "/broken.kubeconfig"
        try "apiVersion: v1\nclusters: [\n  - name: x\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let m = try ws.lifeboat(["k8s", "backup", "--kubeconfig", broken])
        #expect(m.status == 1 && m.err.contains("broken.kubeconfig"), "\(m)")
        // Malformed manifest in --from-dir: nothing committed.
        let manifests = ws.root + "/manifests"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n".write(toFile: manifests + "/a.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n".write(toFile: manifests + "/b.yaml", atomically: true, encoding: .utf8)
        let d = try ws.lifeboat(["k8s", "backup", "--from-dir", manifests])
        #expect(d.status == 1 && d.err.contains("b.yaml"), "\(d)")
        // Bad selector.
        let s = try ws.lifeboat(["k8s", "backup", "--kubeconfig", fc, "-l", "app in nginx"])
        #expect(s.status == 1 && s.err.contains("label selector"), "\(s)")
        #expect(try ws.snapshotCount() == before + 1)
    }
}
