import ArgumentParser
import LifeboatCore
import LifeboatRepository

/// restic's snapshot filters plus Lifeboat's point-in-time selection.
struct SnapshotFilterOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "Only snapshots of this host (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("tag"), help: "Only snapshots with these tags (comma-separated = all of them; repeatable = any group).")
    var tags: [String] = []

    @Option(name: .customLong("path"), help: "Only snapshots that include this path (repeatable).")
    var paths: [String] = []

    @Option(help: "Point in time (RFC 3339): use the newest matching snapshot taken at or before it.")
    var at: String?

    var filter: SnapshotFilter { SnapshotFilter(hosts: hosts, tags: tags, paths: paths) }

    func instant() throws -> Timestamp? {
        guard let at else { return nil }
        guard let t = Timestamp(rfc3339: at) else {
            throw LifeboatError(.invalidArgument, "--at \(at) is not an RFC 3339 time", hint: "for example 2026-11-01T03:00:00Z")
        }
        return t
    }

    func select(_ text: String, in repository: Repository, output: Output) async throws -> (id: ID, snapshot: Snapshot, subpath: [[UInt8]]) {
        let selector = SnapshotSelector(parsing: text)
        let (readable, damaged) = try await repository.readableSnapshots()
        warnAboutDamaged(damaged, output: output)
        let chosen: (id: ID, snapshot: Snapshot)
        do {
            chosen = try selector.resolve(in: readable, filter: filter, at: try instant())
        } catch let error as LifeboatError where error.code == .notFound {
            let prefix = selector.reference.lowercased()
            if prefix != "latest", let hit = damaged.first(where: { $0.id.hex.hasPrefix(prefix) }) {
                throw LifeboatError(.corrupt, "snapshot \(hit.id.short) is damaged: \(hit.message)",
                                    hint: "run `lifeboat check`; other snapshots can still be restored")
            }
            throw error
        }
        return (chosen.id, chosen.snapshot, selector.subpathComponents)
    }
}

/// Tells about snapshot files that cannot be read (they are skipped, as restic skips them).
func warnAboutDamaged(_ damaged: [(id: ID, message: String)], output: Output) {
    for d in damaged {
        output.warning("snapshot \(d.id.short) cannot be read and is skipped: \(d.message)")
    }
}

func snapshotJSON(_ id: ID, _ s: Snapshot) -> JSONValueOut {
    var fields: [(String, JSONValueOut)] = [("time", .string(s.time.rfc3339))]
    if let parent = s.parent { fields.append(("parent", .string(parent.hex))) }
    fields.append(("tree", .string(s.tree.hex)))
    fields.append(("paths", .array(s.paths.map { .string($0) })))
    if let h = s.hostname { fields.append(("hostname", .string(h))) }
    if let u = s.username { fields.append(("username", .string(u))) }
    if let uid = s.uid { fields.append(("uid", .int(Int64(uid)))) }
    if let gid = s.gid { fields.append(("gid", .int(Int64(gid)))) }
    if !s.excludes.isEmpty { fields.append(("excludes", .array(s.excludes.map { .string($0) }))) }
    if !s.tags.isEmpty { fields.append(("tags", .array(s.tags.map { .string($0) }))) }
    if let o = s.original { fields.append(("original", .string(o.hex))) }
    if let v = s.programVersion { fields.append(("program_version", .string(v))) }
    if let sum = s.summary {
        fields.append(("summary", .object([
            ("backup_start", .string(sum.backupStart.rfc3339)), ("backup_end", .string(sum.backupEnd.rfc3339)),
            ("files_new", .uint(sum.filesNew)), ("files_changed", .uint(sum.filesChanged)),
            ("files_unmodified", .uint(sum.filesUnmodified)), ("dirs_new", .uint(sum.dirsNew)),
            ("dirs_changed", .uint(sum.dirsChanged)), ("dirs_unmodified", .uint(sum.dirsUnmodified)),
            ("data_blobs", .uint(sum.dataBlobs)), ("tree_blobs", .uint(sum.treeBlobs)),
            ("data_added", .uint(sum.dataAdded)), ("data_added_packed", .uint(sum.dataAddedPacked)),
            ("total_files_processed", .uint(sum.totalFilesProcessed)), ("total_bytes_processed", .uint(sum.totalBytesProcessed)),
        ])))
    }
    fields.append(("id", .string(id.hex)))
    fields.append(("short_id", .string(id.short)))
    return .object(fields)
}
