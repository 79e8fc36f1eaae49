import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatArchive

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a snapshot (or part of it) into a directory.",
        discussion: "SNAPSHOT is an ID, a unique ID prefix or `latest`; append :PATH to restore only that subdirectory.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Argument(help: "The snapshot, e.g. latest, 1a2b3c4d or latest:/home/user.")
    var snapshot: String

    @Option(name: [.short, .customLong("target")], help: "Directory to restore into (created if missing).")
    var target: String

    @Option(name: [.short, .customLong("include")], help: "Restore only paths matching this pattern (repeatable).")
    var includes: [String] = []

    @Option(name: [.short, .customLong("exclude")], help: "Do not restore paths matching this pattern (repeatable).")
    var excludes: [String] = []

    @Option(name: .customLong("iinclude"), help: "Like --include, ignoring case.")
    var iincludes: [String] = []

    @Option(name: .customLong("iexclude"), help: "Like --exclude, ignoring case.")
    var iexcludes: [String] = []

    @Flag(help: "Read the restored files back and compare them with the snapshot.")
    var verify = false

    @Flag(help: "Replace files that already exist in the target.")
    var overwrite = false

    @Flag(name: .customLong("dry-run"), help: "Show what would be restored.")
    var dryRun = false

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            var options = RestoreOptions(target: target)
            options.filter = PathFilter(
                includes: includes.map { GlobPattern($0) } + iincludes.map { GlobPattern($0, caseInsensitive: true) },
                excludes: excludes.map { GlobPattern($0) } + iexcludes.map { GlobPattern($0, caseInsensitive: true) })
            options.verify = verify
            options.overwrite = overwrite
            options.dryRun = dryRun
            options.workers = max(2, global.workerCount)
            let prepared = options
            let (id, summary) = try await global.withRepository(alsoListing: [.index, .snapshot],
                                                                prepare: { try await $0.loadIndexEarly() }) { repository, early in
                let chosen = try await selection.select(snapshot, in: repository, output: output)
                var options = prepared
                options.subpath = chosen.subpath
                let index: MasterIndex
                if let early { index = early } else { index = try await repository.loadIndex() }
                let progress = RestoreProgress()
                let final = options
                if !output.json { output.info("restoring snapshot \(chosen.id.short) of \(chosen.snapshot.paths.joined(separator: ", ")) at \(chosen.snapshot.time.utcDisplay) to \(target)") }
                let summary = try await withProgress(output, line: { elapsed in
                    let c = progress.counters
                    var line = "[\(Format.duration(elapsed))]"
                    if c.bytesTotal > 0 {
                        let f = Double(c.bytesDone) / Double(c.bytesTotal)
                        line += " " + Format.percent(f)
                        if f > 0.01 && f < 1 { line += " ETA " + Format.duration(elapsed / f - elapsed) }
                    }
                    return line + "  \(c.filesDone)/\(c.filesTotal) files  \(Format.bytes(c.bytesDone))/\(Format.bytes(c.bytesTotal))  "
                        + Format.rate(c.bytesDone, elapsed)
                }) {
                    // Without a progress line nothing needs the totals, whose walk of the trees
                    // costs as much as planning the restore (a fifth of a d3 restore).
                    try await Restorer(repository: repository, index: index).restore(tree: chosen.snapshot.tree, options: final,
                                                                                    progress: output.showsProgress ? progress : nil)
                }
                return (chosen.id, summary)
            }
            if output.json {
                output.emit(.object([
                    ("message_type", .string("summary")), ("snapshot_id", .string(id.hex)),
                    ("files_restored", .int(Int64(summary.files))), ("directories_restored", .int(Int64(summary.directories))),
                    ("other_restored", .int(Int64(summary.otherItems))), ("bytes_restored", .uint(summary.bytes)),
                    ("files_verified", .int(Int64(summary.verifiedFiles))), ("warnings", .array(summary.warnings.map { .string($0) })),
                    ("total_duration", .double(summary.seconds)), ("dry_run", .bool(dryRun)),
                ]))
                return
            }
            for w in summary.warnings { output.warning(w) }
            let verb = dryRun ? "would restore" : "restored"
            output.info("\(verb) \(summary.files) files, \(summary.directories) directories, \(summary.otherItems) other items, \(Format.bytes(summary.bytes)) in \(Format.duration(summary.seconds))")
            if verify { output.info("verified \(summary.verifiedFiles) files: all match the snapshot") }
        }
    }
}
