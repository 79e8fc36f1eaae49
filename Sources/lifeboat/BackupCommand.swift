import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatArchive

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up files, directories or standard input.",
        discussion: "Unchanged files (same size, mtime, ctime and inode as in the parent snapshot) are not read again.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var objectLock: ObjectLockOptions

    @Argument(help: "Files and directories to back up.")
    var paths: [String] = []

    @Option(name: .customLong("tag"), help: "Add a tag (repeatable, or comma-separated).")
    var tags: [String] = []

    @Option(help: "Host name to record (default: this machine's).")
    var host: String?

    @Option(name: [.short, .customLong("exclude")], help: "Exclude paths matching this pattern (repeatable).")
    var excludes: [String] = []

    @Option(name: .customLong("iexclude"), help: "Like --exclude, ignoring case.")
    var iexcludes: [String] = []

    @Option(name: .customLong("exclude-file"), help: "Read exclude patterns from a file, one per line (# comments).")
    var excludeFiles: [String] = []

    @Flag(name: [.customShort("x"), .customLong("one-file-system")], help: "Do not cross file system boundaries.")
    var oneFileSystem = false

    @Option(help: "Use this snapshot as the parent instead of the newest one with the same host and paths.")
    var parent: String?

    @Flag(help: "Read every file, ignoring the parent snapshot.")
    var force = false

    @Flag(help: "Read standard input and store it as one file.")
    var stdin = false

    @Option(name: .customLong("stdin-filename"), help: "File name for --stdin.")
    var stdinFilename = "stdin"

    @Flag(name: [.short, .customLong("dry-run")], help: "Do everything except writing to the repository.")
    var dryRun = false

    @Option(help: "Record this time instead of now (RFC 3339).")
    var time: String?

    func validate() throws {
        if stdin && !paths.isEmpty { throw ValidationError("--stdin takes no paths") }
        if !stdin && paths.isEmpty { throw ValidationError("give at least one path to back up, or --stdin") }
    }

    func run() async throws {
        let global = objectLock.applied(to: self.global)
        let output = global.output
        try await runCommand(output) {
            var options = BackupOptions(paths: paths)
            options.tags = tags.flatMap { $0.split(separator: ",").map(String.init) }
            if let host { options.hostname = host }
            var patterns = excludes.map { GlobPattern($0) } + iexcludes.map { GlobPattern($0, caseInsensitive: true) }
            for file in excludeFiles {
                guard let bytes = readFileBytes(file) else {
                    throw LifeboatError(.invalidArgument, "cannot read the exclude file \(file)")
                }
                for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
                    let trimmed = String(line.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
                    if !trimmed.isEmpty && !trimmed.hasPrefix("#") { patterns.append(GlobPattern(trimmed)) }
                }
            }
            options.excludes = patterns
            options.oneFileSystem = oneFileSystem
            options.force = force
            options.dryRun = dryRun
            options.workers = global.workerCount
            options.compression = try global.compressionMode()
            if stdin { options.stdinFilename = stdinFilename }
            if let time {
                guard let t = Timestamp(rfc3339: time) else { throw LifeboatError(.invalidArgument, "--time \(time) is not an RFC 3339 time") }
                options.time = t
            }
            let parentRef = parent
            let prepared = options
            let summary = try await global.withRepositoryStartingEarly(alsoListing: [.index, .snapshot]) { repository, gate in
                var options = prepared
                if let parentRef {
                    options.parent = try SnapshotSelector(parsing: parentRef).resolve(in: try await repository.readableSnapshots().snapshots).id
                }
                let index = try await repository.loadIndex()
                // Progress costs a second walk (for totals and ETA): only for a person watching.
                let progress = output.showsProgress ? BackupProgress() : nil
                let final = options
                return try await withProgress(output, line: { elapsed in progressLine(progress!.counters, elapsed) }) {
                    try await Archiver(repository: repository).backup(final, index: index, progress: progress, writeGate: gate)
                }
            }
            render(summary, output: output)
            if !summary.errors.isEmpty {
                throw LifeboatError(.partialBackup, summary.snapshotID != nil
                    ? "snapshot \(summary.snapshotID!.short) saved, but \(summary.errors.count) item(s) could not be read"
                    : "\(summary.errors.count) item(s) could not be read")
            }
        }
    }

    private func render(_ s: BackupSummary, output: Output) {
        if output.json {
            for error in s.errors {
                output.emit(.object([("message_type", .string("error")), ("error", .object([("message", .string(error))]))]))
            }
            var fields: [(String, JSONValueOut)] = [
                ("message_type", .string("summary")),
                ("files_new", .int(Int64(s.filesNew))), ("files_changed", .int(Int64(s.filesChanged))),
                ("files_unmodified", .int(Int64(s.filesUnmodified))),
                ("dirs_new", .int(Int64(s.dirsNew))), ("dirs_changed", .int(Int64(s.dirsChanged))),
                ("dirs_unmodified", .int(Int64(s.dirsUnmodified))),
                ("data_blobs", .int(Int64(s.saved.dataBlobs))), ("tree_blobs", .int(Int64(s.saved.treeBlobs))),
                ("data_added", .uint(s.saved.bytesAdded)), ("data_added_packed", .uint(s.saved.bytesStored)),
                ("total_files_processed", .int(Int64(s.totalFiles))), ("total_bytes_processed", .uint(s.totalBytes)),
                ("total_duration", .double(s.seconds)),
                ("dry_run", .bool(dryRun)),
            ]
            if let id = s.snapshotID { fields.append(("snapshot_id", .string(id.hex))) }
            if let parent = s.parent { fields.append(("parent", .string(parent.hex))) }
            output.emit(.object(fields))
            return
        }
        for warning in s.warnings { output.warning(warning) }
        for error in s.errors { printErr("error: \(error)") }
        if let parent = s.parent { output.info("using parent snapshot \(parent.short)") }
        output.info("")
        output.info("Files:      \(pad(s.filesNew)) new, \(pad(s.filesChanged)) changed, \(pad(s.filesUnmodified)) unmodified")
        output.info("Dirs:       \(pad(s.dirsNew)) new, \(pad(s.dirsChanged)) changed, \(pad(s.dirsUnmodified)) unmodified")
        output.info("Added to the repository: \(Format.bytes(s.saved.bytesAdded)) (\(Format.bytes(s.saved.bytesStored)) stored)")
        output.info("")
        output.info("processed \(s.totalFiles) files, \(Format.bytes(s.totalBytes)) in \(Format.duration(s.seconds))")
        if let id = s.snapshotID {
            output.info("snapshot \(id.short) saved")
        } else if dryRun {
            output.info("dry run: nothing was written")
        }
    }
}

private func pad(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: " ", count: max(0, 5 - s.count)) + s
}

func progressLine(_ c: BackupProgress.Counters, _ elapsed: Double) -> String {
    var line = "[\(Format.duration(elapsed))]"
    if c.scanFinished && c.bytesTotal > 0 {
        let fraction = min(1, Double(c.bytesDone) / Double(c.bytesTotal))
        line += " " + Format.percent(fraction)
        if fraction > 0.01 && fraction < 1 {
            line += " ETA " + Format.duration(elapsed / fraction - elapsed)
        }
        line += "  \(c.filesDone)/\(c.filesTotal) files  \(Format.bytes(c.bytesDone))/\(Format.bytes(c.bytesTotal))"
    } else {
        line += "  \(c.filesDone) files  \(Format.bytes(c.bytesDone))"
    }
    line += "  " + Format.rate(c.bytesDone, elapsed)
    if c.errors > 0 { line += "  \(c.errors) errors" }
    if !c.currentPath.isEmpty { line += "  " + c.currentPath }
    return line
}
