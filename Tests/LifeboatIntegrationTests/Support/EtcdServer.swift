import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real single-member etcd (the Debian etcd-server 3.4 binary) on loopback with free ports and
/// a temporary data directory; stopped with SIGTERM + waitpid by `stop()` or deinit.
final class EtcdServer {
    struct TLSFiles {
        let ca: String, serverCert: String, serverKey: String, clientCert: String, clientKey: String
    }

    let name: String
    let dataDir: String
    let clientPort: Int
    let peerPort: Int
    let tls: TLSFiles?
    private let process = Process()
    private let logPath: String
    private var running = false

    var scheme: String { tls == nil ? "http" : "https" }
    var endpoint: String { "\(scheme)://127.0.0.1:\(clientPort)" }
    var peerURL: String { "http://127.0.0.1:\(peerPort)" }

    /// Starts etcd; with `dataDir` already holding a restored member, it serves that.
    init(name: String = "lb", dataDir: String, tls: TLSFiles? = nil) throws {
        self.name = name
        self.dataDir = dataDir
        self.tls = tls
        clientPort = try freePort()
        peerPort = try freePort()
        logPath = dataDir + ".log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try EtcdTools.binary("etcd"))
        var arguments = ["--name", name, "--data-dir", dataDir,
                         "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                         "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
                         "--initial-cluster", "\(name)=\(peerURL)", "--initial-cluster-state", "new"]
        if let tls {
            arguments += ["--cert-file", tls.serverCert, "--key-file", tls.serverKey,
                          "--trusted-ca-file", tls.ca, "--client-cert-auth"]
        }
        process.arguments = arguments
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        running = true
        try waitUntilHealthy()
    }

    /// etcdctl against this member (ETCDCTL_API=3, with the client certificates for TLS).
    func etcdctl(_ arguments: [String]) throws -> ProcessResult {
        var args = ["--endpoints", endpoint, "--dial-timeout", "5s"]
        if let tls { args += ["--cacert", tls.ca, "--cert", tls.clientCert, "--key", tls.clientKey] }
        return try Run.run(try EtcdTools.binary("etcdctl"), args + arguments, environment: ["ETCDCTL_API": "3"])
    }

    @discardableResult
    func etcdctlOK(_ arguments: [String]) throws -> ProcessResult {
        let r = try etcdctl(arguments)
        guard r.status == 0 else { throw ProcessFailure(result: r) }
        return r
    }

    private func waitUntilHealthy() throws {
        // Readiness polling (not a timed assertion): etcd needs a moment to elect itself.
        for _ in 0..<100 {
            if try etcdctl(["endpoint", "health"]).status == 0 { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        stop()
        throw CLITestError("etcd did not become healthy on \(endpoint); log:\n\(log.suffix(3000))")
    }

    func stop() {
        guard running else { return }
        running = false
        kill(process.processIdentifier, SIGTERM)
        var status: Int32 = 0
        _ = waitpid(process.processIdentifier, &status, 0)
    }

    deinit { stop() }
}

enum EtcdTools {
    /// etcd, etcdctl and openssl must be installed (`make test` installs them); missing is a failure.
    static func binary(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where access(dir + "/" + name, X_OK) == 0 { return dir + "/" + name }
        throw CLITestError("\(name) is not installed: `apt-get install etcd-server etcd-client openssl` (or `make test`)")
    }

    /// Runs the helper script (fill, digest, proxy) with python3.
    static func helper(_ arguments: [String], in dir: String) throws -> ProcessResult {
        let script = dir + "/etcd-helper.py"
        if !FileManager.default.fileExists(atPath: script) {
            try Data(helperScript.utf8).write(to: URL(fileURLWithPath: script))
        }
        let r = try Run.run("/usr/bin/env", ["python3", script] + arguments)
        guard r.status == 0 else { throw ProcessFailure(result: r) }
        return r
    }

    /// CA, server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI.
    static func makeCertificates(in dir: String) throws -> EtcdServer.TLSFiles {
        let openssl = try binary("openssl")
        func run(_ args: [String]) throws { try Run.check(openssl, args, directory: dir) }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", "2", "-subj", "/CN=lifeboat-test-ca"])
        for (who, ext) in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"),
                           ("client", "extendedKeyUsage=clientAuth")] {
            try Data(ext.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(who).ext"))
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(who).key", "-out", "\(who).csr",
                     "-subj", "/CN=lifeboat-\(who)"])
            try run(["x509", "-req", "-in", "\(who).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(who).crt", "-days", "2", "-extfile", "\(who).ext"])
        }
        return .init(ca: dir + "/ca.crt", serverCert: dir + "/server.crt", serverKey: dir + "/server.key",
                     clientCert: dir + "/client.crt", clientKey: dir + "/client.key")
    }
}

/// A loopback proxy in front of etcd that damages the snapshot stream (see the script's modes).
final class SnapshotProxy {
    let process = Process()
    let port: Int

    init(upstreamPort: Int, mode: String, dir: String) throws {
        let script = dir + "/etcd-helper.py"
        if !FileManager.default.fileExists(atPath: script) { try Data(helperScript.utf8).write(to: URL(fileURLWithPath: script)) }
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "proxy", String(upstreamPort), mode]
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(process.processIdentifier, &status, 0)
            throw CLITestError("the snapshot proxy did not start")
        }
        self.port = port
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(process.processIdentifier, &status, 0)
    }
}

/// A TCP port nobody listens on right now (bound to port 0, then released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CLITestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw CLITestError("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

private let helperScript = #"""
# Test helper for the etcd integration tests (run with python3; no third-party modules).
#   fill HOST PORT COUNT SIZE PREFIX STEP   put keys PREFIX000000.. (every STEP-th) with random values
#   digest HOST PORT                        print "<live keys> <revision> <sha256 of sorted key/value pairs>"
#   proxy UPSTREAM_PORT MODE                loopback proxy printing its port; MODE for the snapshot body:
#        pass | cut-mid (declared length, half sent, connection closed) | cut-line (whole lines only,
#        stream ends early) | flip-db (one database byte flipped) | flip-trailer (one trailer byte flipped)
import base64, hashlib, http.client, http.server, json, os, socketserver, sys, threading

def fill(host, port, count, size, prefix, step):
    def work(t, n):
        c = http.client.HTTPConnection(host, port)
        for i in range(t * step, count, n * step):
            body = json.dumps({"key": base64.b64encode(f"{prefix}{i:06d}".encode()).decode(),
                               "value": base64.b64encode(os.urandom(size)).decode()})
            c.request("POST", "/v3/kv/put", body); r = c.getresponse(); r.read()
            assert r.status == 200, r.status
    threads = [threading.Thread(target=work, args=(t, 4)) for t in range(4)]
    [t.start() for t in threads]; [t.join() for t in threads]

def digest(host, port):
    c = http.client.HTTPConnection(host, port)
    c.request("POST", "/v3/kv/range", json.dumps({"key": "AAA=", "range_end": "AA=="}))
    r = c.getresponse(); reply = json.loads(r.read()); assert r.status == 200, reply
    kvs = sorted((base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", ""))) for kv in reply.get("kvs", []))
    h = hashlib.sha256()
    for k, v in kvs: h.update(len(k).to_bytes(4, "big") + k + len(v).to_bytes(4, "big") + v)
    print(len(kvs), reply["header"]["revision"], h.hexdigest())

def proxy(upstream, mode):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            c = http.client.HTTPConnection("127.0.0.1", upstream)
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            c.request("POST", self.path, body, headers)
            r = c.getresponse(); out = r.read()
            if self.path == "/v3/maintenance/snapshot" and r.status == 200 and mode != "pass":
                lines = out.split(b"\n")[:-1]
                if mode == "cut-line":
                    out = b"".join(l + b"\n" for l in lines[:len(lines) // 2])
                elif mode in ("flip-db", "flip-trailer"):
                    i = len(lines) - 1 if mode == "flip-trailer" else len(lines) // 2
                    msg = json.loads(lines[i]); blob = bytearray(base64.b64decode(msg["result"]["blob"]))
                    blob[len(blob) // 2] ^= 0x01
                    msg["result"]["blob"] = base64.b64encode(bytes(blob)).decode()
                    lines[i] = json.dumps(msg).encode()
                    out = b"".join(l + b"\n" for l in lines)
                elif mode == "cut-mid":
                    self.send_response(200); self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out))); self.end_headers()
                    self.wfile.write(out[:len(out) // 2]); self.wfile.flush()
                    self.close_connection = True
                    return
            self.send_response(r.status); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
    s = S(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()

cmd = sys.argv[1]
if cmd == "fill": fill(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
elif cmd == "digest": digest(sys.argv[2], int(sys.argv[3]))
elif cmd == "proxy": proxy(int(sys.argv[2]), sys.argv[3])
"""#
