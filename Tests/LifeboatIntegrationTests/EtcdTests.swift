import Foundation
import Testing
import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// `lifeboat etcd` against real etcd 3.4 members on loopback, restored with the real etcdctl.
@Suite("etcd snapshots", .serialized)
final class EtcdTests {
    let temp: TempDir
    let lifeboat: Lifeboat
    let restic: Restic
    let password = "etcd test password"

    init() throws {
        temp = try TempDir(prefix: "etcd")
        lifeboat = try Lifeboat(repository: temp.sub("repo"), password: password)
        restic = try Restic(repository: temp.sub("repo"), password: password)
        try lifeboat.check(["init"])
    }

    deinit { temp.remove() }

    func json(_ r: ProcessResult) throws -> [String: Any] {
        let line = r.out.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CLITestError("not a JSON object: \(r)")
        }
        return object
    }

    func digest(_ server: EtcdServer) throws -> String {
        try EtcdTools.helper(["digest", "127.0.0.1", String(server.clientPort)], in: temp.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func expectSpotless(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try lifeboat.run(["check"])
        #expect(check.status == 0 && check.out.contains("no errors were found"), "\(check)", sourceLocation: sourceLocation)
        let oracle = try restic.run(["check"])
        #expect(oracle.status == 0 && oracle.out.contains("no errors were found"), "\(oracle)", sourceLocation: sourceLocation)
    }

    @Test("backup, change 1%, backup again; etcdctl restores the second into a member with the same keys")
    func backupDedupRestoreWithEtcdctl() throws {
        let source = try EtcdServer(name: "src", dataDir: temp.sub("src"))
        defer { source.stop() }
        try EtcdTools.helper(["fill", "127.0.0.1", String(source.clientPort), "5000", "1024", "/registry/k/", "1"], in: temp.path)

        let first = try json(lifeboat.check(["--json", "etcd", "backup", "--endpoints", source.endpoint]))
        let firstEtcd = try #require(first["etcd"] as? [String: Any])
        let size = try #require(firstEtcd["size"] as? Int)
        #expect(size > 5_000_000 && size % 512 == 32)
        #expect(firstEtcd["etcd_version"] as? String == "3.4.23" || (firstEtcd["etcd_version"] as? String)?.hasPrefix("3.") == true)
        #expect(firstEtcd["member_name"] as? String == "src")

        // 1% of the keys get new random values.
        try EtcdTools.helper(["fill", "127.0.0.1", String(source.clientPort), "5000", "1024", "/registry/k/", "100"], in: temp.path)
        let second = try json(lifeboat.check(["--json", "etcd", "backup", "--endpoints", source.endpoint]))
        let secondID = try #require(second["snapshot_id"] as? String)
        let secondSize = try #require((second["etcd"] as? [String: Any])?["size"] as? Int)
        let added = try #require(second["data_added"] as? Int)
        // 50 changed values of 1 KiB in a ~7 MB database of ~1 MiB chunks: where they land
        // decides how many chunks change (seen: 25-37 %). Without dedup it would be all of it.
        #expect(added < secondSize / 2, "second snapshot added \(added) of \(secondSize) bytes")
        #expect(second["parent"] as? String == first["snapshot_id"] as? String)

        let listing = try JSONSerialization.jsonObject(with: restic.check(["snapshots", "--json"]).stdout) as? [[String: Any]] ?? []
        let tags = listing.map { $0["tags"] as? [String] ?? [] }
        #expect(tags.count == 2 && tags.allSatisfy { $0.contains("etcd") && $0.contains { $0.hasPrefix("etcd-revision=") } })
        try expectSpotless()

        let ls = try lifeboat.check(["etcd", "ls", "--json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: ls.stdout) as? [[String: Any]])
        #expect(listed.count == 2)
        #expect((listed.last?["etcd"] as? [String: Any])?["revision"] as? Int == (second["etcd"] as? [String: Any])?["revision"] as? Int)

        let file = temp.sub("restored.db")
        let restored = try json(lifeboat.check(["--json", "etcd", "restore", secondID, "--output", file, "--data-dir", temp.sub("dst")]))
        #expect(restored["size"] as? Int == secondSize)
        let command = try #require(restored["restore_command"] as? [String])
        #expect(command.prefix(4) == ["etcdctl", "snapshot", "restore", file])
        // The printed command, run as printed plus the member flags of a fresh single-member cluster.
        let peer = "http://127.0.0.1:\(try freePort())"
        let restore = try Run.run(try EtcdTools.binary("etcdctl"),
                                  Array(command.dropFirst()) + ["--name", "dst", "--initial-cluster", "dst=\(peer)",
                                                                "--initial-advertise-peer-urls", peer],
                                  environment: ["ETCDCTL_API": "3"])
        #expect(restore.status == 0, "\(restore)")
        let copy = try EtcdServer(name: "dst", dataDir: temp.sub("dst"))
        defer { copy.stop() }
        let want = try digest(source)
        #expect(want.hasPrefix("5000 "))
        #expect(try digest(copy) == want)

        // A restore never replaces an existing file without --force.
        let again = try lifeboat.run(["etcd", "restore", secondID, "--output", file])
        #expect(again.status == 1 && again.err.contains("already exists") && again.err.contains("--force"))
        #expect(try lifeboat.run(["etcd", "restore", "latest", "--output", file, "--force"]).status == 0)
    }

    @Test("over TLS with client certificates made by openssl")
    func tlsWithClientCertificates() throws {
        let certs = try EtcdTools.makeCertificates(in: temp.path)
        let server = try EtcdServer(name: "tls", dataDir: temp.sub("tls"), tls: certs)
        defer { server.stop() }
        try server.etcdctlOK(["put", "/registry/secret", "value over tls"])
        let r = try lifeboat.run(["--json", "etcd", "backup", "--endpoints", server.endpoint, "--cacert", certs.ca,
                                  "--cert", certs.clientCert, "--key", certs.clientKey])
        #expect(r.status == 0, "\(r)")
        // Without the client certificate etcd refuses; without the CA the server is not trusted.
        let noCert = try lifeboat.run(["etcd", "backup", "--endpoints", server.endpoint, "--cacert", certs.ca])
        #expect(noCert.status == 1 && noCert.err.contains("error:"), "\(noCert)")
        let noCA = try lifeboat.run(["etcd", "backup", "--endpoints", server.endpoint, "--cert", certs.clientCert, "--key", certs.clientKey])
        #expect(noCA.status == 1 && noCA.err.contains("--cacert"), "\(noCA)")
        #expect(try lifeboat.snapshotIDs().count == 1)

        let file = temp.sub("tls.db")
        try lifeboat.check(["etcd", "restore", "latest", "--output", file])
        let status = try Run.run(try EtcdTools.binary("etcdctl"), ["snapshot", "status", file, "-w", "json"], environment: ["ETCDCTL_API": "3"])
        #expect(status.status == 0 && status.out.contains("\"revision\":2"), "\(status)")
    }

    @Test("authentication with --user")
    func authentication() throws {
        let server = try EtcdServer(name: "auth", dataDir: temp.sub("auth"))
        defer { server.stop() }
        try server.etcdctlOK(["put", "/k", "v"])
        try server.etcdctlOK(["user", "add", "root:s3cret-pw"])
        try server.etcdctlOK(["user", "grant-role", "root", "root"])
        try server.etcdctlOK(["auth", "enable"])

        let anonymous = try lifeboat.run(["etcd", "backup", "--endpoints", server.endpoint])
        #expect(anonymous.status == 1 && anonymous.err.contains("--user"), "\(anonymous)")
        let wrong = try lifeboat.run(["etcd", "backup", "--endpoints", server.endpoint, "--user", "root:not-it"])
        #expect(wrong.status == 1 && wrong.err.contains("refused the credentials") && !wrong.err.contains("not-it"), "\(wrong)")
        #expect(try lifeboat.snapshotIDs().isEmpty)
        let ok = try lifeboat.run(["--json", "etcd", "backup", "--endpoints", server.endpoint, "--user", "root:s3cret-pw"])
        #expect(ok.status == 0, "\(ok)")
        #expect(!ok.out.contains("s3cret") && !ok.err.contains("s3cret"))
        #expect(try lifeboat.snapshotIDs().count == 1)
    }

    @Test("a cut or damaged stream commits nothing", arguments: ["cut-mid", "cut-line", "flip-db", "flip-trailer"])
    func damagedStreamCommitsNothing(mode: String) throws {
        let server = try EtcdServer(name: "dmg", dataDir: temp.sub("dmg"))
        defer { server.stop() }
        try EtcdTools.helper(["fill", "127.0.0.1", String(server.clientPort), "2000", "1024", "/registry/k/", "1"], in: temp.path)
        let good = try SnapshotProxy(upstreamPort: server.clientPort, mode: "pass", dir: temp.path)
        try lifeboat.check(["etcd", "backup", "--endpoints", good.endpoint])
        let before = try lifeboat.snapshotIDs()
        let packs = try FileManager.default.subpathsOfDirectory(atPath: temp.sub("repo/index"))

        let proxy = try SnapshotProxy(upstreamPort: server.clientPort, mode: mode, dir: temp.path)
        let r = try lifeboat.run(["etcd", "backup", "--endpoints", proxy.endpoint])
        #expect(r.status == 1, "\(r)")
        let expected = mode.hasPrefix("cut") ? ["cut", "ended"] : ["SHA-256"]
        #expect(expected.contains { r.err.contains($0) } && r.err.contains("error:"), "\(r)")
        #expect(try lifeboat.snapshotIDs() == before)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: temp.sub("repo/index")) == packs)
        try expectSpotless()
    }

    @Test("--from-file takes etcdctl snapshots and refuses bare databases")
    func fromFile() throws {
        let server = try EtcdServer(name: "file", dataDir: temp.sub("file"))
        defer { server.stop() }
        try server.etcdctlOK(["put", "/registry/a", "1"])
        let saved = temp.sub("saved.db")
        try server.etcdctlOK(["snapshot", "save", saved])
        let r = try json(lifeboat.check(["--json", "etcd", "backup", "--from-file", saved, "--tag", "daily"]))
        #expect((r["etcd"] as? [String: Any])?["name"] as? String == "saved")
        let out = temp.sub("out.db")
        try lifeboat.check(["etcd", "restore", "latest", "--output", out])
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: saved))

        let bytes = try #require(FileManager.default.contents(atPath: saved))
        try bytes.dropLast(32).write(to: URL(fileURLWithPath: temp.sub("bare.db")))
        let bare = try lifeboat.run(["etcd", "backup", "--from-file", temp.sub("bare.db")])
        #expect(bare.status == 1 && bare.err.contains("no SHA-256 trailer"), "\(bare)")
        var flipped = bytes
        flipped[flipped.count / 2] ^= 1
        try flipped.write(to: URL(fileURLWithPath: temp.sub("flipped.db")))
        let bad = try lifeboat.run(["etcd", "backup", "--from-file", temp.sub("flipped.db")])
        #expect(bad.status == 1 && bad.err.contains("fails its SHA-256 check"), "\(bad)")
        #expect(try lifeboat.snapshotIDs().count == 1)
        try expectSpotless()
    }

    @Test("bad input: unreachable endpoint, missing files, not an etcd snapshot")
    func badInput() throws {
        let closed = "http://127.0.0.1:\(try freePort())"
        let r = try lifeboat.run(["etcd", "backup", "--endpoints", closed])
        #expect(r.status == 1 && r.err.contains("cannot reach etcd") && r.err.contains("hint:"), "\(r)")
        let noEndpoint = try lifeboat.run(["etcd", "backup"])
        #expect(noEndpoint.status == 1 && noEndpoint.err.contains("--endpoints"), "\(noEndpoint)")
        let noFile = try lifeboat.run(["etcd", "backup", "--endpoints", closed, "--cacert", temp.sub("missing.crt")])
        #expect(noFile.status == 1 && noFile.err.contains("--cacert"), "\(noFile)")
        let notURL = try lifeboat.run(["etcd", "backup", "--endpoints", "127.0.0.1:2379"])
        #expect(notURL.status == 1 && notURL.err.contains("http://"), "\(notURL)")
        let none = try lifeboat.run(["etcd", "restore", "latest", "--output", temp.sub("x.db")])
        #expect(none.status == 1 && none.err.contains("no etcd snapshot"), "\(none)")
        #expect(try lifeboat.run(["etcd", "ls"]).status == 0)
        #expect(try lifeboat.snapshotIDs().isEmpty)
    }
}
