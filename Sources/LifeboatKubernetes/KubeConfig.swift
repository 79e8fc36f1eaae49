public import LifeboatCore
public import LifeboatHTTP

/// How to reach and authenticate to one API server, resolved from kubeconfig files or from
/// the in-cluster service account.
public struct ClusterConnection: Sendable {
    /// `https://host:port` without a trailing slash.
    public var server: String
    public var tls = TLSOptions()
    /// The name to verify the server certificate against, if not the server's host.
    public var tlsServerName: String?
    public var auth: Auth = .none
    /// The context's default namespace.
    public var namespace: String?
    public var contextName: String
    public var clusterName: String

    public enum Auth: Sendable {
        case none
        case token(String)
        /// Re-read on every new credential (projected service-account tokens rotate).
        case tokenFile(String)
        case basic(user: String, password: String)
        case exec(ExecPlugin)
    }

    public init(server: String, contextName: String = "", clusterName: String = "") {
        self.server = server
        self.contextName = contextName
        self.clusterName = clusterName
    }
}

/// A `client.authentication.k8s.io` exec credential plugin.
public struct ExecPlugin: Sendable {
    public var apiVersion: String
    public var command: String
    public var args: [String]
    public var env: [(String, String)]
    public var provideClusterInfo: Bool
}

/// kubeconfig loading with kubectl's rules: `--kubeconfig`, else every file in `KUBECONFIG`
/// (merged, first definition of a name wins), else `~/.kube/config`, else in-cluster.
public enum KubeConfig {
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    public static func load(path explicit: String?, context: String?) throws -> ClusterConnection {
        var files: [String] = []
        if let explicit, !explicit.isEmpty {
            guard System.exists(explicit) else {
                throw LifeboatError(.invalidArgument, "kubeconfig \(explicit) does not exist", hint: "check --kubeconfig")
            }
            files = [explicit]
        } else if let env = System.environment("KUBECONFIG"), !env.isEmpty {
            files = env.split(separator: ":").map(String.init).filter { System.exists($0) }
        } else if let home = System.environment("HOME"), System.exists(home + "/.kube/config") {
            files = [home + "/.kube/config"]
        }
        if files.isEmpty {
            if let host = System.environment("KUBERNETES_SERVICE_HOST"), !host.isEmpty {
                return try inCluster(host: host, port: System.environment("KUBERNETES_SERVICE_PORT") ?? "443")
            }
            throw LifeboatError(.invalidArgument, "no kubeconfig found",
                                hint: "pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config")
        }
        return try load(files: files, context: context)
    }

    /// Merges the given kubeconfig files (first definition of a name wins) and resolves a context.
    public static func load(files: [String], context: String?) throws -> ClusterConnection {
        var merged = Merged()
        for file in files {
            let text = String(decoding: try System.readFile(file), as: UTF8.self)
            let docs = try YAML.documents(text, source: "kubeconfig \(file)")
            guard let doc = docs.first, case .object = doc else {
                throw LifeboatError(.invalidArgument, "kubeconfig \(file) is not a YAML mapping",
                                    hint: "a kubeconfig has apiVersion: v1, kind: Config, clusters, users and contexts")
            }
            merged.add(doc, directory: directory(of: file), file: file)
        }
        return try merged.resolve(context: context)
    }

    /// The Pod's service account: token (re-read when it rotates) and CA, server from the environment.
    public static func inCluster(host: String, port: String, directory: String = serviceAccountDirectory) throws -> ClusterConnection {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        var connection = ClusterConnection(server: "https://\(bracketed):\(port)", contextName: "in-cluster", clusterName: "in-cluster")
        connection.tls.caFile = directory + "/ca.crt"
        connection.auth = .tokenFile(directory + "/token")
        connection.namespace = (try? System.readFile(directory + "/namespace")).map { String(decoding: $0, as: UTF8.self) }
        return connection
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }
}

/// Named entries from several kubeconfig files, each remembering the directory it came from.
private struct Merged {
    var clusters: [String: (JSONValue, String)] = [:]
    var users: [String: (JSONValue, String)] = [:]
    var contexts: [String: JSONValue] = [:]
    var currentContext: String?
    var files: [String] = []

    mutating func add(_ doc: JSONValue, directory: String, file: String) {
        files.append(file)
        for (key, inner) in [("clusters", "cluster"), ("users", "user"), ("contexts", "context")] {
            for entry in doc[key]?.arrayValue ?? [] {
                guard let name = entry["name"]?.stringValue, let value = entry[inner] else { continue }
                switch key {
                case "clusters": if clusters[name] == nil { clusters[name] = (value, directory) }
                case "users": if users[name] == nil { users[name] = (value, directory) }
                default: if contexts[name] == nil { contexts[name] = value }
                }
            }
        }
        if currentContext == nil, let current = doc["current-context"]?.stringValue, !current.isEmpty {
            currentContext = current
        }
    }

    func resolve(context requested: String?) throws -> ClusterConnection {
        let where_ = files.joined(separator: ", ")
        guard let contextName = requested ?? currentContext else {
            throw LifeboatError(.invalidArgument, "kubeconfig \(where_) sets no current-context", hint: "pass --context NAME")
        }
        guard let context = contexts[contextName] else {
            throw LifeboatError(.invalidArgument, "context \"\(contextName)\" is not defined in kubeconfig \(where_)",
                                hint: "known contexts: \(contexts.keys.sorted().joined(separator: ", "))")
        }
        guard let clusterName = context["cluster"]?.stringValue, let (cluster, clusterDir) = clusters[clusterName] else {
            throw LifeboatError(.invalidArgument, "context \"\(contextName)\" names a cluster that kubeconfig \(where_) does not define")
        }
        guard let server = cluster["server"]?.stringValue, server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw LifeboatError(.invalidArgument, "cluster \"\(clusterName)\" in kubeconfig \(where_) has no https:// server URL")
        }
        var c = ClusterConnection(server: String(server.trimmingSuffix("/")), contextName: contextName, clusterName: clusterName)
        c.namespace = context["namespace"]?.stringValue
        if cluster["insecure-skip-tls-verify"]?.boolValue == true { c.tls.insecureSkipVerify = true }
        if let data = cluster["certificate-authority-data"]?.stringValue {
            c.tls.caPEM = try decode(data, "certificate-authority-data of cluster \(clusterName)")
        } else if let file = cluster["certificate-authority"]?.stringValue {
            c.tls.caFile = absolute(file, clusterDir)
        }
        c.tlsServerName = cluster["tls-server-name"]?.stringValue
        if cluster["proxy-url"] != nil {
            throw LifeboatError(.unsupported, "cluster \"\(clusterName)\" uses proxy-url, which lifeboat does not support yet")
        }
        if let userName = context["user"]?.stringValue, !userName.isEmpty {
            guard let (user, userDir) = users[userName] else {
                throw LifeboatError(.invalidArgument, "context \"\(contextName)\" names user \"\(userName)\" that kubeconfig \(where_) does not define")
            }
            try applyUser(user, name: userName, directory: userDir, to: &c)
        }
        return c
    }

    private func applyUser(_ user: JSONValue, name: String, directory: String, to c: inout ClusterConnection) throws {
        if let data = user["client-certificate-data"]?.stringValue {
            c.tls.clientCertPEM = try decode(data, "client-certificate-data of user \(name)")
        } else if let file = user["client-certificate"]?.stringValue {
            c.tls.clientCertFile = absolute(file, directory)
        }
        if let data = user["client-key-data"]?.stringValue {
            c.tls.clientKeyPEM = try decode(data, "client-key-data of user \(name)")
        } else if let file = user["client-key"]?.stringValue {
            c.tls.clientKeyFile = absolute(file, directory)
        }
        if let token = user["token"]?.stringValue, !token.isEmpty {
            c.auth = .token(token)
        } else if let file = user["tokenFile"]?.stringValue {
            c.auth = .tokenFile(absolute(file, directory))
        } else if let username = user["username"]?.stringValue {
            c.auth = .basic(user: username, password: user["password"]?.stringValue ?? "")
        } else if let exec = user["exec"] {
            guard let command = exec["command"]?.stringValue else {
                throw LifeboatError(.invalidArgument, "user \(name): exec has no command")
            }
            let env = (exec["env"]?.arrayValue ?? []).compactMap { e -> (String, String)? in
                guard let n = e["name"]?.stringValue else { return nil }
                return (n, e["value"]?.stringValue ?? "")
            }
            c.auth = .exec(ExecPlugin(apiVersion: exec["apiVersion"]?.stringValue ?? "client.authentication.k8s.io/v1",
                                      command: command.contains("/") ? absolute(command, directory) : command,
                                      args: (exec["args"]?.arrayValue ?? []).compactMap(\.stringValue), env: env,
                                      provideClusterInfo: exec["provideClusterInfo"]?.boolValue ?? false))
        } else if user["auth-provider"] != nil {
            throw LifeboatError(.unsupported, "user \(name) uses an auth-provider, which current kubectl no longer supports",
                                hint: "switch the user to an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin)")
        }
    }

    private func decode(_ base64: String, _ what: String) throws -> [UInt8] {
        guard let bytes = Base64.decode(base64.filter { !$0.isWhitespace }) else {
            throw LifeboatError(.invalidArgument, "\(what) is not valid base64")
        }
        return bytes
    }

    private func absolute(_ path: String, _ directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> Substring {
        var s = Substring(self)
        while s.hasSuffix(suffix) { s = s.dropLast(suffix.count) }
        return s
    }
}
