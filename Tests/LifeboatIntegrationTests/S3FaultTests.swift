import Foundation
import Glibc
import Testing

/// Faults between lifeboat and S3, and bad settings: retried where they are transient, a
/// clear error and a non-zero exit where they are not, never a hang.
@Suite(.serialized) struct S3FaultTests {
    /// 30 % of requests fail (500, 503 SlowDown, a stall past the timeout, a cut body):
    /// backup and restore still finish with the right data.
    @Test func transientFaultsAreRetried() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let proxy = try FaultProxy(upstream: moto, seed: 20261122, fraction: 0.3, stall: 4)
        defer { proxy.stop() }
        try withTempDir("s3-faults") { work in
            let direct = S3Lifeboat(endpoint: moto.endpoint, bucket: "faulty", prefix: "repo", work: work)
            let faulty = direct.via(proxy.endpoint, extra: ["-o", "s3.stall-timeout=1", "-o", "s3.retries=8", "--no-cache"])
            let src = work.sub("src")
            try makeTree(at: src, seed: 21, files: 30, size: 120_000)
            try faulty.check(["init"])
            try faulty.check(["backup", src])
            try faulty.check(["restore", "latest", "--target", work.sub("out")])
            #expect(try treesMatch(src, work.sub("out") + src))
            let stats = try proxy.stats()
            #expect(stats.faults >= 3, "too few faults injected to mean anything: \(stats)")
            #expect(try direct.check(["check", "--read-data"]).out.contains("no errors were found"))
            #expect(try direct.restic(["check", "--read-data"]).isSpotlessCheck)
        }
    }

    /// Every upload fails: backup gives up after its retries with a clear message, and the
    /// repository still checks clean (no snapshot refers to anything missing).
    @Test func exhaustedRetriesFailClearly() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let proxy = try FaultProxy(upstream: moto, seed: 3, fraction: 1.0, faults: "503", only: "PUT")
        defer { proxy.stop() }
        try withTempDir("s3-exhausted") { work in
            let direct = S3Lifeboat(endpoint: moto.endpoint, bucket: "exhausted", prefix: "", work: work)
            try direct.check(["init"])
            let src = work.sub("src")
            try makeTree(at: src, seed: 4, files: 5, size: 60_000)
            let failed = try direct.via(proxy.endpoint, extra: ["-o", "s3.retries=2"]).run(["backup", src])
            #expect(failed.status != 0, "\(failed)")
            #expect(failed.err.contains("SlowDown") && failed.err.contains("after 3 attempts"), "\(failed)")
            #expect(!failed.err.contains(MotoServer.credentials["AWS_SECRET_ACCESS_KEY"]!))
            #expect(try direct.check(["check"]).out.contains("no errors were found"))
            #expect(try direct.check(["snapshots", "--json"]).out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }

    /// libcurl is opened when an S3 repository is, and only then: a local repository's
    /// commands never map it or the libraries it needs (the dynamic loader's log says which
    /// libraries a process loads).
    @Test func libcurlIsLoadedOnlyForHTTP() throws {
        try withTempDir("s3-libcurl") { work in
            let repo = work.sub("local-repo")
            let env = ["LIFEBOAT_PASSWORD": "pw", "LD_DEBUG": "libs"]
            let made = try Run.run(try Locations.lifeboat(), ["init", "-r", repo], environment: env)
            #expect(made.status == 0, "\(made)")
            let local = try Run.run(try Locations.lifeboat(), ["snapshots", "-r", repo], environment: env)
            #expect(local.status == 0 && local.err.contains("libcrypto.so"), "the loader log is missing: \(local)")
            #expect(!local.err.contains("libcurl.so"), "a local repository loaded libcurl")

            let deadPort = try freePort()
            let remote = try Run.run(try Locations.lifeboat(),
                                     ["snapshots", "-r", "s3:http://127.0.0.1:\(deadPort)/bucket", "-o", "s3.retries=0"],
                                     environment: MotoServer.credentials.merging(env) { $1 })
            #expect(remote.status != 0 && remote.err.contains("libcurl.so"), "\(remote)")
            #expect(remote.err.contains("port \(deadPort)"), "\(remote)")
        }
    }

    @Test func badSettingsFailClearly() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try withTempDir("s3-bad") { work in
            try moto.createBucket("exists")
            // Nothing listens on this port.
            let deadPort = try freePort()
            let dead = S3Lifeboat(endpoint: "http://127.0.0.1:\(deadPort)", bucket: "exists", prefix: "", work: work,
                                  extra: ["-o", "s3.retries=1"])
            let r1 = try dead.run(["snapshots"])
            #expect(r1.status != 0 && r1.err.contains("127.0.0.1:\(deadPort)"), "\(r1)")

            // A host that does not answer at all: bounded by the connect timeout. Its SYNs are
            // dropped by a loopback listener whose accept queue is full; nothing leaves the machine.
            let silent = try SilentListener()
            defer { silent.stop() }
            let blackhole = S3Lifeboat(endpoint: "http://127.0.0.1:\(silent.port)", bucket: "exists", prefix: "", work: work,
                                       extra: ["-o", "s3.retries=0", "-o", "s3.connect-timeout=2"])
            let r2 = try blackhole.run(["snapshots"])
            #expect(r2.status != 0 && r2.err.contains("port \(silent.port)") && r2.err.contains("did not answer in time"), "\(r2)")

            let missing = S3Lifeboat(endpoint: moto.endpoint, bucket: "no-such-bucket", prefix: "", work: work)
            let r3 = try missing.run(["snapshots"])
            #expect(r3.status == 10 && r3.err.contains("bucket no-such-bucket does not exist"), "\(r3)")

            let empty = S3Lifeboat(endpoint: moto.endpoint, bucket: "exists", prefix: "nothing-here", work: work)
            let r4 = try empty.run(["snapshots"])
            #expect(r4.status == 10 && r4.err.contains("no repository"), "\(r4)")

            var noCredentials = MotoServer.credentials
            noCredentials["AWS_ACCESS_KEY_ID"] = nil
            noCredentials["AWS_SECRET_ACCESS_KEY"] = nil
            noCredentials["HOME"] = work.path
            let r5 = try Run.run(try Locations.lifeboat(), ["snapshots", "-r", "s3:\(moto.endpoint)/exists"],
                                 environment: noCredentials.merging(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""]) { $1 })
            #expect(r5.status != 0 && r5.err.contains("no AWS credentials"), "\(r5)")

            let r6 = try Run.run(try Locations.lifeboat(), ["snapshots", "-r", "s3:\(moto.endpoint)/exists", "-o", "s3.bucket-lookup=sideways"],
                                 environment: MotoServer.credentials)
            #expect(r6.status != 0 && r6.err.contains("s3.bucket-lookup"), "\(r6)")
        }
    }

    /// With authentication on, moto rejects an unknown access key: a clear 403 message
    /// naming the bucket, never the secret.
    @Test func unknownAccessKeyIsReported() throws {
        guard let motoPath = findProgram("moto_server") else {
            Issue.record("moto_server is not installed: run `scripts/install-deps.sh test`")
            return
        }
        try withTempDir("s3-auth") { work in
            let port = try freePort()
            let server = try Spawned(motoPath, ["-H", "127.0.0.1", "-p", String(port)],
                                     environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "1"], log: work.sub("moto.log"))
            defer { server.stop() }
            var up = false
            for _ in 0..<600 where !up { up = answersHTTP(port: port); if !up { usleep(100_000) } }
            #expect(up, "moto did not start: \(server.log)")
            let lb = S3Lifeboat(endpoint: "http://127.0.0.1:\(port)", bucket: "authbucket", prefix: "", work: work)
            let r = try lb.run(["snapshots"])
            #expect(r.status != 0, "\(r)")
            #expect(r.err.contains("InvalidAccessKeyId") || r.err.contains("refused"), "\(r)")
            #expect(!r.err.contains(MotoServer.credentials["AWS_SECRET_ACCESS_KEY"]!))
        }
    }
}

/// A loopback port that never completes a TCP handshake, as a host that drops packets would
/// not: listening with a backlog of 0, its accept queue is filled by one connection that is
/// never accepted, after which Linux drops every new SYN and a client waits out its connect
/// timeout.
final class SilentListener {
    let port: Int
    private let listener: Int32
    private let filler: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0, filler >= 0 else { throw CLITestError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(listener, raw, length) == 0 && listen(listener, 0) == 0 && getsockname(listener, raw, &length) == 0
            }
        }
        guard listening else { throw CLITestError("bind/listen failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)  // connect gives up instead of hanging the test
        setsockopt(filler, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) == 0 }
        }
        guard connected else { throw CLITestError("could not fill the accept queue") }
        self.listener = listener
        self.filler = filler
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func stop() {
        close(filler)
        close(listener)
    }
}
