import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair", abstract: "Repair the index or snapshots.",
        subcommands: [RepairIndexCommand.self, RepairSnapshotsCommand.self])
}

struct RepairIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Rebuild the index from the packs' headers.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("read-all-packs"), help: "Read every pack whole: rebuild from all headers, and salvage the intact blobs of damaged packs.")
    var readAllPacks = false

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let readAll = readAllPacks
            let report = try await global.withRepository(exclusive: true) { repository in
                try await IndexRepairer(repository: repository).repair(readAllPacks: readAll) { output.detail($0) }
            }
            if output.json {
                output.emit(.object([
                    ("message_type", .string("repair_index")), ("packs_from_index", .int(Int64(report.packsFromIndex))),
                    ("packs_from_headers", .int(Int64(report.packsFromHeaders))),
                    ("unreadable_packs", .array(report.unreadable.map { .object([("id", .string($0.id.hex)), ("message", .string($0.message))]) })),
                    ("damaged_index_files", .array(report.damagedIndexFiles.map { .object([("id", .string($0.id.hex)), ("message", .string($0.message))]) })),
                    ("dropped_packs", .int(Int64(report.droppedPacks))),
                    ("damaged_packs", .array(report.damagedPacks.map { .string($0.hex) })),
                    ("salvaged_blobs", .int(Int64(report.salvagedBlobs))),
                    ("lost_blobs", .array(report.lostBlobs.map { .object([("pack", .string($0.pack.hex)), ("blob", .string($0.blob.hex)),
                                                                           ("type", .string($0.type.rawValue))]) })),
                    ("index_files_written", .int(Int64(report.indexFilesWritten))), ("index_files_removed", .int(Int64(report.indexFilesRemoved))),
                ]))
            } else {
                for d in report.damagedIndexFiles { output.warning("index \(d.id.short) could not be read: \(d.message)") }
                for u in report.unreadable { output.warning("pack \(u.id.short) is not indexed: \(u.message)") }
                for d in report.damagedPacks { output.warning("pack \(d.short) is damaged: its intact blobs were copied to new packs") }
                for l in report.lostBlobs { output.warning("\(l.type) blob \(l.blob.short) in pack \(l.pack.short) is lost") }
                output.info("indexed \(report.packsFromIndex + report.packsFromHeaders) packs (\(report.packsFromHeaders) from their headers); dropped \(report.droppedPacks) missing packs")
                output.info("wrote \(report.indexFilesWritten) index files, removed \(report.indexFilesRemoved) old ones")
                if !report.unreadable.isEmpty || report.droppedPacks > 0 || !report.lostBlobs.isEmpty {
                    output.info("snapshots may now reference lost data: run `lifeboat check`, then `lifeboat repair snapshots`")
                }
            }
        }
    }
}

struct RepairSnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "Rewrite snapshots that reference missing data (drops what is lost).")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("forget"), help: "Remove the original snapshots after repairing them.")
    var forget = false
    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Only show what would be repaired.")
    var dryRun = false
    @Argument(help: "Snapshots to repair (default: all).")
    var ids: [String] = []

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let ids = self.ids, forget = self.forget, dryRun = self.dryRun
            let report = try await global.withRepository(exclusive: true) { repository in
                let all = try await repository.snapshots()
                let chosen = ids.isEmpty ? all : try ids.map { try SnapshotSelector(parsing: $0).resolve(in: all) }
                return try await SnapshotRepairer(repository: repository).repair(chosen, forget: forget, dryRun: dryRun)
            }
            if output.json {
                output.emit(.object([
                    ("message_type", .string("repair_snapshots")), ("checked", .int(Int64(report.checked))), ("dry_run", .bool(dryRun)),
                    ("changed", .array(report.changes.map { c in .object([
                        ("snapshot", .string(c.snapshot.hex)), ("replacement", c.replacement.map { .string($0.hex) } ?? .null),
                        ("fixes", .array(c.fixes.map { .string($0) })),
                    ]) })),
                ]))
                return
            }
            for c in report.changes {
                output.info("snapshot \(c.snapshot.short):")
                for f in c.fixes { output.info("  \(f)") }
                if let r = c.replacement { output.info("  saved as \(r.short)\(forget ? ", original removed" : "")") }
            }
            output.info("checked \(report.checked) snapshots, \(report.changes.count) need\(report.changes.count == 1 ? "s" : "") repair" + (dryRun ? " (dry run)" : ""))
        }
    }
}
