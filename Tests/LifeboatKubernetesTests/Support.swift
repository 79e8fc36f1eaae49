import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Paths the Kubernetes tests need; every lookup fails loudly (a missing peer is a failure).
enum K8sTestPaths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var double: String { packageRoot + "/Tests/LifeboatKubernetesTests/Fixtures/apiserver.py" }

    static var testdata: String {
        let env = ProcessInfo.processInfo.environment
        let shared = env["LIFEBOAT_SHARED"] ?? env["SHARED_DIR"] ?? packageRoot + "/../shared"
        return shared + "/testdata/kubernetes"
    }

    static var lifeboat: String { ProcessInfo.processInfo.environment["LIFEBOAT_BIN"] ?? packageRoot + "/.build/debug/lifeboat" }
}

struct RunResult: CustomStringConvertible {
    var status: Int32
    var out: String
    var err: String
    var command: [String]
    var description: String { "`\(command.joined(separator: " "))` exited \(status)\nstdout: \(out.prefix(3000))\nstderr: \(err.prefix(3000))" }

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(out.utf8)) }
    func lastJSONObject() -> [String: Any] {
        for line in out.split(separator: "\n").reversed() {
            if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] { return o }
        }
        return [:]
    }
}

/// Runs a program to completion with output captured in files (no pipe deadlocks), waiting
/// with waitpid rather than Process.waitUntilExit (which blocks the cooperative pool).
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> RunResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LIFEBOAT_") && !$0.key.hasPrefix("RESTIC_") && $0.key != "KUBECONFIG" }
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Foundation reaps the child itself; poll instead of waitUntilExit (which blocks the cooperative pool).
    while process.isRunning { usleep(5_000) }
    try? outHandle.close(); try? errHandle.close()
    let exit = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    return RunResult(status: exit, out: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
                     err: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
                     command: [path] + arguments)
}

/// A test CA, a server certificate for 127.0.0.1/kubernetes.default and a client certificate,
/// made with the openssl CLI.
struct TestPKI {
    let directory: String
    var ca: String { directory + "/ca.crt" }

    init(in directory: String) throws {
        self.directory = directory
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=lifeboat-test-ca
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr -subj '/CN=lifeboat/O=system:masters'
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
            """
        let r = try runProgram("/bin/sh", ["-c", script])
        guard r.status == 0 else { throw TestFailure("openssl failed: \(r)") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The API-server double (Tests/LifeboatKubernetesTests/Fixtures/apiserver.py) on loopback HTTPS.
final class APIServerDouble {
    let process = Process()
    let port: Int
    let token: String

    init(pki: TestPKI, token: String = "test-token", extra: [String] = []) throws {
        self.token = token
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", K8sTestPaths.double, "--data", K8sTestPaths.testdata, "--cert", pki.directory + "/server.crt",
                             "--key", pki.directory + "/server.key", "--client-ca", pki.ca, "--token", token] + extra
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The double prints its port as the first line once it listens.
        var line = Data()
        while !line.contains(0x0a) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            var status: Int32 = 0
            waitpid(process.processIdentifier, &status, 0)
            throw TestFailure("the API-server double did not start (is python3 with PyYAML installed?)")
        }
        self.port = port
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        var status: Int32 = 0
        waitpid(process.processIdentifier, &status, 0)
    }

    var server: String { "https://127.0.0.1:\(port)" }

    /// A kubeconfig for this double. `auth`: "token", "cert", or a literal token.
    func kubeconfig(at path: String, pki: TestPKI, auth: String = "token", tlsServerName: Bool = false, clusterName: String = "test") throws {
        let user: String
        switch auth {
        case "token": user = "token: \(token)"
        case "cert": user = "client-certificate: \(pki.directory)/client.crt\n    client-key: \(pki.directory)/client.key"
        default: user = "token: \(auth)"
        }
        let caData = try Data(contentsOf: URL(fileURLWithPath: pki.ca)).base64EncodedString()
        let server = tlsServerName ? "https://127.0.0.1:\(port)\n    tls-server-name: kubernetes.default" : "https://127.0.0.1:\(port)"
        let text = """
            apiVersion: v1
            kind: Config
            current-context: ctx
            clusters:
            - name: \(clusterName)
              cluster:
                server: \(server)
                certificate-authority-data: \(caData)
            users:
            - name: u
              user:
                \(user)
            contexts:
            - name: ctx
              context: {cluster: \(clusterName), user: u, namespace: default}
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A temporary workspace with a repository; removed on deinit.
final class K8sWorkspace {
    let root: String
    let pki: TestPKI
    var repo: String { root + "/repo" }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("lifeboat-k8s-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/pki", withIntermediateDirectories: true)
        pki = try TestPKI(in: root + "/pki")
        let r = try lifeboat(["init"])
        guard r.status == 0 else { throw TestFailure("init failed: \(r)") }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func lifeboat(_ arguments: [String]) throws -> RunResult {
        try runProgram(K8sTestPaths.lifeboat, ["-r", repo] + arguments, environment: ["LIFEBOAT_PASSWORD": "pw", "LIFEBOAT_WORKERS": "2"],
                       directory: root)
    }

    func kubectl(_ kubeconfig: String, _ arguments: [String]) throws -> RunResult {
        try runProgram("/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + arguments, environment: ["HOME": root])
    }

    /// Object references (`namespaces/ns/res/name`) in a snapshot, through `lifeboat k8s ls --json`.
    func storedReferences(_ snapshot: String = "latest", _ extra: [String] = []) throws -> Set<String> {
        let r = try lifeboat(["k8s", "ls", snapshot, "--json"] + extra)
        guard r.status == 0, let list = try r.json() as? [[String: Any]] else { throw TestFailure("k8s ls failed: \(r)") }
        return Set(list.compactMap { $0["reference"] as? String })
    }

    func snapshotCount() throws -> Int {
        let r = try lifeboat(["snapshots", "--json"])
        return (try? r.json() as? [Any])?.count ?? -1
    }
}
