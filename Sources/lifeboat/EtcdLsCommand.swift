import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatEtcd

struct EtcdLsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List etcd snapshots with revision, size, member and etcd version.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only snapshots of this /etcd/NAME.")
    var name: String?

    @Option(name: .customLong("host"), help: "Only snapshots of this host (repeatable).")
    var hosts: [String] = []

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let found = try await global.withRepository { repository in
                let all = try await repository.readableSnapshots()
                warnAboutDamaged(all.damaged, output: output)
                let chosen = all.snapshots.filter { isEtcd($0.snapshot, name: name) && (hosts.isEmpty || hosts.contains($0.snapshot.hostname ?? "")) }
                let index = try await repository.loadIndex()
                var found: [(ID, Snapshot, StoredEtcdSnapshot?)] = []
                for (id, snapshot) in chosen {
                    let stored = try? await findEtcdSnapshot(id, snapshot, repository: repository, index: index)
                    found.append((id, snapshot, stored))
                }
                return found
            }
            if output.json {
                output.emit(.array(found.map { id, s, stored in
                    var fields: [(String, JSONValueOut)] = [("id", .string(id.hex)), ("short_id", .string(id.short)),
                                                            ("time", .string(s.time.rfc3339)), ("hostname", .string(s.hostname ?? "")),
                                                            ("paths", .array(s.paths.map { .string($0) })),
                                                            ("tags", .array(s.tags.map { .string($0) }))]
                    if let size = stored?.database.size { fields.append(("size", .uint(size))) }
                    if let info = stored?.info { fields.append(("etcd", .raw(String(decoding: info.encoded().dropLast(), as: UTF8.self)))) }
                    return .object(fields)
                }))
                return
            }
            var rows = [["ID", "Time", "Host", "Name", "Revision", "Size", "Member", "Version"]]
            for (id, s, stored) in found { rows.append(row(id, s, stored)) }
            printTable(rows)
            output.info("\(found.count) etcd snapshot\(found.count == 1 ? "" : "s")")
        }
    }

    private func row(_ id: ID, _ s: Snapshot, _ stored: StoredEtcdSnapshot?) -> [String] {
        let info = stored?.info
        var member = ""
        if let memberID = info?.memberID {
            let hex = EtcdSnapshotInfo.hexID(memberID)
            member = info?.memberName.map { "\($0) (\(hex))" } ?? hex
        } else if info?.source == "file" {
            member = "(file)"
        }
        let name: String = stored?.name ?? String(s.paths[0].dropFirst(6))
        let revision: String = info?.revision.map { String($0) } ?? ""
        let size: String = stored?.database.size.map { Format.bytes($0) } ?? "?"
        return [id.short, s.time.utcDisplay, s.hostname ?? "", name, revision, size, member, info?.etcdVersion ?? ""]
    }
}
