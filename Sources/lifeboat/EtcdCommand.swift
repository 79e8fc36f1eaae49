import ArgumentParser
import LifeboatCore
import LifeboatHTTP
import LifeboatRepository
import LifeboatArchive
import LifeboatEtcd
#if canImport(Glibc)
import Glibc
#endif

struct EtcdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etcd", abstract: "Back up, list and restore etcd snapshots.",
        discussion: "See docs/etcd.md for the control-plane restore procedure.",
        subcommands: [EtcdBackupCommand.self, EtcdRestoreCommand.self, EtcdLsCommand.self])
}

/// How to reach etcd, spelled as etcdctl spells it (ETCDCTL_* variables are read as fallbacks).
struct EtcdConnectionOptions: ParsableArguments {
    @Option(help: "etcd client URLs, comma-separated or repeated (env: ETCDCTL_ENDPOINTS).")
    var endpoints: [String] = []

    // Not `--cacert` as in etcdctl: that global option is the repository's CA (restic's name).
    @Option(name: .customLong("etcd-cacert"), help: "CA bundle that signed etcd's server certificate (env: ETCDCTL_CACERT).")
    var cacert: String?

    @Option(help: "Client certificate for etcd's --client-cert-auth (env: ETCDCTL_CERT).")
    var cert: String?

    @Option(help: "Client certificate's private key (env: ETCDCTL_KEY).")
    var key: String?

    @Option(help: "etcd user as USER:PASSWORD, or USER with the password in ETCDCTL_PASSWORD (env: ETCDCTL_USER).")
    var user: String?

    @Flag(name: .customLong("insecure-skip-tls-verify"), help: "Do not verify etcd's server certificate (unsafe).")
    var insecureSkipTLSVerify = false

    @Option(name: .customLong("dial-timeout"), help: "Seconds to connect to one endpoint.")
    var dialTimeout: Double = 5

    func client() throws -> EtcdClient {
        var urls = endpoints.flatMap { $0.split(separator: ",").map { String($0).trimmingWhitespace() } }
        if urls.isEmpty, let env = environment("ETCDCTL_ENDPOINTS") { urls = env.split(separator: ",").map { String($0).trimmingWhitespace() } }
        guard !urls.isEmpty else {
            throw LifeboatError(.invalidArgument, "no etcd endpoint given",
                                hint: "pass --endpoints https://HOST:2379 (or set ETCDCTL_ENDPOINTS), or --from-file FILE for a saved snapshot")
        }
        var tls = TLSOptions()
        tls.caFile = try readable(cacert ?? environment("ETCDCTL_CACERT"), "--etcd-cacert")
        tls.clientCertFile = try readable(cert ?? environment("ETCDCTL_CERT"), "--cert")
        tls.clientKeyFile = try readable(key ?? environment("ETCDCTL_KEY"), "--key")
        if (tls.clientCertFile == nil) != (tls.clientKeyFile == nil) {
            throw LifeboatError(.invalidArgument, "--cert and --key go together", hint: "pass both the client certificate and its key")
        }
        tls.insecureSkipVerify = insecureSkipTLSVerify
        var credentials: EtcdClient.Credentials?
        if let spec = user ?? environment("ETCDCTL_USER") {
            if let colon = spec.firstIndex(of: ":") {
                credentials = .init(user: String(spec[..<colon]), password: String(spec[spec.index(after: colon)...]))
            } else if let password = environment("ETCDCTL_PASSWORD") {
                credentials = .init(user: spec, password: password)
            } else {
                throw LifeboatError(.invalidArgument, "--user \(spec) has no password",
                                    hint: "pass --user USER:PASSWORD, or set ETCDCTL_PASSWORD")
            }
        }
        guard dialTimeout > 0 else { throw LifeboatError(.invalidArgument, "--dial-timeout must be positive") }
        return try EtcdClient(endpoints: urls, tls: tls, credentials: credentials, dialTimeout: dialTimeout)
    }

    private func readable(_ path: String?, _ flag: String) throws -> String? {
        guard let path, !path.isEmpty else { return nil }
        guard access(path, R_OK) == 0 else {
            throw LifeboatError(.invalidArgument, "\(flag) \(path) cannot be read", hint: "check the path and its permissions")
        }
        return path
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

struct EtcdBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Stream a snapshot from etcd (or read an etcdctl snapshot file) into the repository.",
        discussion: """
            The snapshot is stored as /etcd/NAME/snapshot.db (exactly what `etcdctl snapshot save` writes) with
            /etcd/NAME/snapshot.json (member, revision, sizes, etcd version), tagged `etcd` and `etcd-revision=N`.
            Its SHA-256 trailer is checked as it streams; a wrong hash or a cut stream saves nothing.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var connection: EtcdConnectionOptions

    @Option(name: .customLong("from-file"), help: "Back up a file written by `etcdctl snapshot save` instead of asking etcd.")
    var fromFile: String?

    @Option(help: "Directory name below /etcd/ (default: cluster-<cluster ID>, or the file's base name).")
    var name: String?

    @Option(name: .customLong("tag"), help: "Add a tag (repeatable, or comma-separated).")
    var tags: [String] = []

    @Option(help: "Host name to record (default: this machine's).")
    var host: String?

    @Flag(name: [.short, .customLong("dry-run")], help: "Take and check the snapshot, but write nothing to the repository.")
    var dryRun = false

    func validate() throws {
        if fromFile != nil && !connection.endpoints.isEmpty {
            throw ValidationError("--from-file and --endpoints exclude each other")
        }
    }

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let source: EtcdSnapshotSource = try fromFile.map { .file($0) } ?? .endpoints(connection.client())
            var options = EtcdBackupOptions()
            options.name = name
            options.tags = tags.flatMap { $0.split(separator: ",").map(String.init) }
            options.hostname = host
            options.dryRun = dryRun
            options.compression = try global.compressionMode()
            let progress = EtcdBackupProgress()
            if output.showsProgress { options.progress = progress }
            let prepared = options
            let result = try await global.withRepository { repository in
                let index = try await repository.loadIndex()
                return try await withProgress(output, line: { elapsed in
                    var line = "[\(Format.duration(elapsed))] \(Format.bytes(progress.bytes))"
                    if progress.expected > 0 { line += " of ~\(Format.bytes(progress.expected))" }
                    return line + "  " + Format.rate(progress.bytes, elapsed)
                }) {
                    try await backupEtcd(from: source, repository: repository, index: index, options: prepared)
                }
            }
            render(result, output: output)
        }
    }

    private func render(_ r: EtcdBackupResult, output: Output) {
        let saved = r.backup.saved
        if output.json {
            var fields: [(String, JSONValueOut)] = [
                ("message_type", .string("summary")),
                ("etcd", .raw(String(decoding: r.info.encoded().dropLast(), as: UTF8.self))),
                ("data_blobs", .int(Int64(saved.dataBlobs))), ("tree_blobs", .int(Int64(saved.treeBlobs))),
                ("data_added", .uint(saved.bytesAdded)), ("data_added_packed", .uint(saved.bytesStored)),
                ("total_bytes_processed", .uint(r.backup.bytes)), ("total_duration", .double(r.seconds)),
                ("dry_run", .bool(dryRun)),
            ]
            if let id = r.backup.snapshotID { fields.append(("snapshot_id", .string(id.hex))) }
            if let parent = r.backup.snapshot.parent { fields.append(("parent", .string(parent.hex))) }
            output.emit(.object(fields))
            return
        }
        let i = r.info
        if let member = i.memberID {
            let who = i.memberName.map { "\($0) (\(EtcdSnapshotInfo.hexID(member)))" } ?? EtcdSnapshotInfo.hexID(member)
            output.info("etcd \(i.etcdVersion ?? "?") at \(i.origin): member \(who), revision \(i.revision ?? 0)")
        } else {
            output.info("etcd snapshot file \(i.origin)")
        }
        output.info("/etcd/\(i.name)/snapshot.db: \(Format.bytes(i.size)), SHA-256 trailer verified (\(i.sha256.hex.prefix(16))…)")
        output.info("Added to the repository: \(Format.bytes(saved.bytesAdded)) (\(Format.bytes(saved.bytesStored)) stored)")
        output.info("processed \(Format.bytes(i.size)) in \(Format.duration(r.seconds)) (\(Format.rate(i.size, r.seconds)))")
        if let id = r.backup.snapshotID {
            output.info("snapshot \(id.short) saved")
        } else if dryRun {
            output.info("dry run: nothing was written")
        }
    }
}
