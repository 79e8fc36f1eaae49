import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

/// restic's prune options, shared by `prune` and `forget --prune`.
struct PruneCLIOptions: ParsableArguments {
    @Option(name: .customLong("max-unused"), help: "Tolerate this much unused data: a percentage of the used size, a size, or 'unlimited'.")
    var maxUnused = "5%"
    @Option(name: .customLong("max-repack-size"), help: "Repack at most this much data (e.g. 500M, 2G).")
    var maxRepackSize: String?
    @Flag(name: .customLong("repack-uncompressed"), help: "Repack packs with uncompressed blobs (compresses them).")
    var repackUncompressed = false

    func options(dryRun: Bool) throws -> PruneOptions {
        var o = PruneOptions()
        o.maxUnused = try PruneOptions.parseMaxUnused(maxUnused)
        if let maxRepackSize {
            guard let bytes = PruneOptions.parseSize(maxRepackSize) else {
                throw LifeboatError(.invalidArgument, "invalid --max-repack-size \"\(maxRepackSize)\"", hint: "use a size like 500M or 2G")
            }
            o.maxRepackSize = bytes
        }
        o.repackUncompressed = repackUncompressed
        o.dryRun = dryRun
        return o
    }
}

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove data no snapshot references; repack partly used packs.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var pruneOptions: PruneCLIOptions
    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Only show what would be done.")
    var dryRun = false
    @Option(name: .customLong("retry-lock"), help: "Retry to take the exclusive lock for this long (e.g. 5m, 30s).")
    var retryLock: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let options = try pruneOptions.options(dryRun: dryRun)
            let wait = try retryLock.map(parseLockDuration) ?? 0
            try await global.withRepository(exclusive: true, retryLock: wait) { repository in
                try await runPrune(repository: repository, options: options, output: output)
            }
        }
    }
}

/// `30s`, `5m`, `1h`, `1h30m` → seconds.
func parseLockDuration(_ text: String) throws -> Double {
    var total = 0.0, number = ""
    for ch in text {
        if ch.isNumber || ch == "." { number.append(ch); continue }
        guard let n = Double(number) else { throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\"", hint: "e.g. 30s, 5m, 1h") }
        switch ch {
        case "s": total += n
        case "m": total += n * 60
        case "h": total += n * 3600
        default: throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\"", hint: "e.g. 30s, 5m, 1h")
        }
        number = ""
    }
    if !number.isEmpty { throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\": missing unit", hint: "e.g. 30s, 5m, 1h") }
    return total
}

func runPrune(repository: Repository, options: PruneOptions, output: Output) async throws {
    let plan = try await PrunePlanner(repository: repository).plan(options) { output.detail($0) }
    func line(_ label: String, _ blobs: Int, _ bytes: UInt64) -> String {
        "\(label) \(blobs) blobs / \(Format.bytes(bytes))"
    }
    let removePacks = plan.remove.count + plan.unindexed.count
    if !output.json {
        output.info(line("used:        ", plan.usedBlobs, plan.usedBytes))
        output.info(line("duplicates:  ", plan.duplicateBlobs, plan.duplicateBytes))
        output.info(line("unused:      ", plan.unusedBlobs, plan.unusedBytes))
        output.info("")
        output.info("to repack:    \(plan.repackBlobs.count) blobs from \(plan.repack.count) packs / \(Format.bytes(plan.repackBytes))")
        output.info("to delete:    \(removePacks) packs / \(Format.bytes(plan.removeBytes)) (\(plan.unindexed.count) of them not in any index)")
        output.info("unused after: \(Format.bytes(plan.unusedAfter))")
        output.info("packs: \(plan.keep.count + plan.repack.count + plan.remove.count + plan.unindexed.count) now, \(plan.keep.count) kept, about \(plan.packsAfter) after")
    }
    var result: PruneResult?
    if options.dryRun {
        output.info("dry run: nothing was changed")
    } else if plan.nothingToDo && plan.indexFiles.count <= 1 {
        output.info("nothing to do")
    } else {
        let r = try await PruneExecutor(repository: repository).execute(plan) { output.detail($0) }
        result = r
        output.info("repacked \(r.blobsRepacked) blobs into \(r.packsWritten) packs, wrote \(r.indexFilesWritten) index files")
        output.info("removed \(r.indexFilesRemoved) old index files and \(r.packsRemoved) packs (\(Format.bytes(r.bytesRemoved)))")
        for item in r.retained { output.warning("not deleted (under retention, try again later): \(item)") }
        output.info("done")
    }
    if output.json {
        var fields: [(String, JSONValueOut)] = [
            ("message_type", .string("prune")), ("dry_run", .bool(options.dryRun)),
            ("used_blobs", .int(Int64(plan.usedBlobs))), ("used_bytes", .uint(plan.usedBytes)),
            ("duplicate_blobs", .int(Int64(plan.duplicateBlobs))), ("duplicate_bytes", .uint(plan.duplicateBytes)),
            ("unused_blobs", .int(Int64(plan.unusedBlobs))), ("unused_bytes", .uint(plan.unusedBytes)),
            ("repack_packs", .int(Int64(plan.repack.count))), ("repack_blobs", .int(Int64(plan.repackBlobs.count))),
            ("repack_bytes", .uint(plan.repackBytes)), ("remove_packs", .int(Int64(removePacks))),
            ("remove_bytes", .uint(plan.removeBytes)), ("unindexed_packs", .int(Int64(plan.unindexed.count))),
            ("unused_after_bytes", .uint(plan.unusedAfter)),
        ]
        if let r = result {
            fields += [("packs_written", .int(Int64(r.packsWritten))), ("packs_removed", .int(Int64(r.packsRemoved))),
                       ("index_files_written", .int(Int64(r.indexFilesWritten))),
                       ("index_files_removed", .int(Int64(r.indexFilesRemoved))),
                       ("retained", .array(r.retained.map { .string($0) }))]
        }
        output.emit(.object(fields))
    }
}
