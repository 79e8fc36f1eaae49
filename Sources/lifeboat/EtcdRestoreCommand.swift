import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatEtcd

struct EtcdRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Write an etcd snapshot file back out and print the etcdctl command that restores it.",
        discussion: """
            The file is written next to --output under a temporary name, its SHA-256 trailer is checked on disk,
            and only then is it renamed into place. `latest` means the newest snapshot tagged etcd.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The snapshot: an ID, a prefix or latest.")
    var snapshot: String

    @Option(name: .customLong("output"), help: "File to write (the snapshot as `etcdctl snapshot save` writes it).")
    var output: String

    @Flag(help: "Replace --output if it exists.")
    var force = false

    @Option(help: "Which /etcd/NAME, when a snapshot holds several; with latest, only snapshots of this name.")
    var name: String?

    @Option(name: .customLong("host"), help: "With latest: only snapshots of this host.")
    var hosts: [String] = []

    @Option(name: .customLong("data-dir"), help: "Data directory to put in the printed etcdctl command.")
    var dataDir = "/var/lib/etcd-from-backup"

    func run() async throws {
        let out = global.output
        let (stored, result) = try await runCommandReturning(out) {
            try await global.withRepository { repository in
                let all = try await repository.readableSnapshots()
                warnAboutDamaged(all.damaged, output: out)
                var candidates = all.snapshots
                if SnapshotSelector(parsing: snapshot).reference.lowercased() == "latest" {
                    candidates = candidates.filter { isEtcd($0.snapshot, name: name) }
                    if candidates.isEmpty {
                        throw LifeboatError(.notFound, "the repository holds no etcd snapshot\(name.map { " named \($0)" } ?? "")",
                                            hint: "take one with `lifeboat etcd backup`")
                    }
                }
                let chosen = try SnapshotSelector(parsing: snapshot).resolve(in: candidates, filter: SnapshotFilter(hosts: hosts))
                let index = try await repository.loadIndex()
                let stored = try await findEtcdSnapshot(chosen.id, chosen.snapshot, name: name, repository: repository, index: index)
                let result = try await restoreEtcdSnapshot(stored, to: output, force: force, repository: repository, index: index)
                return (stored, result)
            }
        }
        let argv = etcdctlRestoreCommand(file: result.path, dataDir: dataDir)
        let line = "ETCDCTL_API=3 " + argv.map(shellQuoted).joined(separator: " ")
        if out.json {
            var fields: [(String, JSONValueOut)] = [
                ("message_type", .string("summary")), ("snapshot_id", .string(stored.snapshotID.hex)),
                ("name", .string(stored.name)), ("file", .string(result.path)), ("size", .uint(result.size)),
                ("sha256", .string(result.sha256.hex)), ("verified", .bool(true)),
                ("restore_command", .array(argv.map { .string($0) })), ("restore_command_line", .string(line)),
            ]
            if let info = stored.info { fields.append(("etcd", .raw(String(decoding: info.encoded().dropLast(), as: UTF8.self)))) }
            out.emit(.object(fields))
            return
        }
        out.info("wrote \(result.path): \(Format.bytes(result.size)) from snapshot \(stored.snapshotID.short) (/etcd/\(stored.name)), SHA-256 trailer verified")
        if let info = stored.info, let revision = info.revision {
            out.info("etcd \(info.etcdVersion ?? "?") revision \(revision), taken \(info.takenAt.utcDisplay)")
        }
        out.info("")
        out.info("Turn it into a data directory with (on each control-plane member, with its own --name and peer URL):")
        out.info("  " + line)
        out.info("  (multi-member clusters add: --name NAME --initial-cluster NAME1=https://IP1:2380,... --initial-advertise-peer-urls https://IP:2380)")
        if out.quiet { printOut(line) }
    }
}

/// Snapshots lifeboat's etcd backup made (tag etcd, one /etcd/NAME path).
func isEtcd(_ s: Snapshot, name: String? = nil) -> Bool {
    guard s.tags.contains("etcd"), s.paths.count == 1, s.paths[0].hasPrefix("/etcd/") else { return false }
    return name.map { s.paths[0] == "/etcd/\($0)" } ?? true
}

/// `runCommand` for a body that returns a value.
func runCommandReturning<T>(_ output: Output, _ body: () async throws -> T) async throws -> T {
    var value: T?
    try await runCommand(output) { value = try await body() }
    return value!
}
