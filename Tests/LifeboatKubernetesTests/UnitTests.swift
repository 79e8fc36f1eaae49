import Foundation
import Testing
@testable import LifeboatKubernetes
import LifeboatCore
import LifeboatHTTP

@Suite struct LabelSelectorTests {
    @Test(arguments: [
        ("app=web", ["app": "web"], true), ("app==web", ["app": "db"], false), ("app!=web", [:], true),
        ("env in (prod, staging)", ["env": "staging"], true), ("env notin (dev)", ["env": "dev"], false),
        ("env notin (dev)", [:], true), ("release", ["release": ""], true), ("!release", ["release": "x"], false),
        ("app=web,tier in (a,b),!canary", ["app": "web", "tier": "b"], true),
        ("app=web,tier in (a,b),!canary", ["app": "web", "tier": "b", "canary": "1"], false),
    ] as [(String, [String: String], Bool)])
    func matches(selector: String, labels: [String: String], expected: Bool) throws {
        #expect(try LabelSelector(parsing: selector).matches(labels) == expected)
    }

    @Test(arguments: ["app in nginx", "=x", "", "a b=c", "env in (a"])
    func invalid(selector: String) {
        #expect(throws: LifeboatError.self) { try LabelSelector(parsing: selector) }
    }

    @Test func resourceAndNamespaceFilters() {
        let deploy = APIResource(group: "apps", version: "v1", name: "deployments", kind: "Deployment", namespaced: true, verbs: ["list"])
        for term in ["deployments", "deployments.apps", "Deployment", "deployment.apps", "*"] {
            #expect(ResourceFilter(includes: [term]).matches(deploy), "\(term)")
        }
        #expect(!ResourceFilter(includes: ["deployments.extensions"]).matches(deploy))
        #expect(!ResourceFilter(excludes: ["Deployment"]).matches(deploy))
        let ns = NamespaceFilter(includes: ["shop-*", "pay"], excludes: ["shop-test"])
        #expect(ns.matches("shop-eu") && ns.matches("pay") && !ns.matches("shop-test") && !ns.matches("payments"))
        #expect(ns.literalNames == nil && NamespaceFilter(includes: ["a", "b"]).literalNames == ["a", "b"])
    }
}

@Suite struct KubeConfigTests {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func mergesFirstWinsAndResolvesRelativePaths() throws {
        let a = try write("sub/a", """
            apiVersion: v1
            kind: Config
            current-context: one
            clusters:
            - {name: c1, cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.crt, tls-server-name: kubernetes.default}}
            users:
            - {name: u1, user: {client-certificate: certs/u.crt, client-key: /abs/u.key}}
            contexts:
            - {name: one, context: {cluster: c1, user: u1, namespace: shop}}
            """)
        let b = try write("b", """
            current-context: two
            clusters:
            - {name: c1, cluster: {server: "https://ignored:1"}}
            - {name: c2, cluster: {server: "https://10.0.0.2", insecure-skip-tls-verify: true}}
            users:
            - {name: u2, user: {username: admin, password: s3cret}}
            contexts:
            - {name: two, context: {cluster: c2, user: u2}}
            """)
        let one = try KubeConfig.load(files: [a, b], context: nil)
        #expect(one.server == "https://10.0.0.1:6443" && one.namespace == "shop" && one.tlsServerName == "kubernetes.default")
        #expect(one.tls.caFile == dir + "/sub/ca.crt" && one.tls.clientCertFile == dir + "/sub/certs/u.crt" && one.tls.clientKeyFile == "/abs/u.key")
        let two = try KubeConfig.load(files: [a, b], context: "two")
        #expect(two.tls.insecureSkipVerify)
        guard case .basic(let user, _) = two.auth else { Issue.record("basic auth expected"); return }
        #expect(user == "admin")
        #expect(KubeClient.hostPort("https://10.0.0.2") ?? ("", "") == ("10.0.0.2", "443"))
    }

    @Test func malformedAndMissingContexts() throws {
        let broken = try write("broken", "clusters: [\n - {name: x\n")
        #expect { try KubeConfig.load(files: [broken], context: nil) } throws: { ($0 as? LifeboatError)?.message.contains("broken") == true }
        let empty = try write("empty", "apiVersion: v1\nkind: Config\n")
        #expect { try KubeConfig.load(files: [empty], context: "nope") } throws: { ($0 as? LifeboatError)?.message.contains("nope") == true }
    }

    @Test func execPluginCredential() throws {
        let plugin = try write("plugin.sh", """
            #!/bin/sh
            case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 7;; esac
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-'"$EXTRA"'","expirationTimestamp":"2099-01-01T00:00:00Z"}}'
            """)
        chmod(plugin, 0o755)
        let config = try write("exec", """
            current-context: e
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, env: [{name: EXTRA, value: "42"}], interactiveMode: Never}}}]
            contexts: [{name: e, context: {cluster: c, user: u}}]
            """)
        let connection = try KubeConfig.load(files: [config], context: nil)
        guard case .exec(let p) = connection.auth else { Issue.record("exec expected"); return }
        let credential = try ExecCredentialRunner.run(p, server: connection.server)
        #expect(credential.token == "tok-42" && credential.expires != nil)
    }
}

@Suite struct YAMLTests {
    @Test func typesRoundTrip() throws {
        let text = """
            a: 1
            b: -2
            c: 1.5
            d: true
            e: "true"
            f: null
            g: '8080'
            h: [x, {y: no}]
            ---
            second: doc
            """
        let docs = try YAML.documents(text, source: "t")
        #expect(docs.count == 2)
        let d = docs[0]
        #expect(d["a"] == .number(.unsigned(1)) && d["b"] == .number(.signed(-2)) && d["c"]?.doubleValue == 1.5)
        #expect(d["d"] == .bool(true) && d["e"] == .string("true") && d["f"] == .null && d["g"] == .string("8080"))
        #expect(d["h"]?.arrayValue?[1]["y"] == .bool(false))
        // Rendering and reading back gives the same value (strings that look like other types stay strings).
        let again = try YAML.documents(try YAML.render(d), source: "r")
        #expect(again.first.map { $0.sameContent(as: d) } == true)
    }
}
