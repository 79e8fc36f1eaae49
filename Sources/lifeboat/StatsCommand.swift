import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show sizes: restore size, unique files, raw data and dedup ratio.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SnapshotFilterOptions
    @Option(help: "restore-size, files-by-contents, raw-data or blobs-per-file.")
    var mode = "restore-size"
    @Argument(help: "Snapshots (default: all).")
    var ids: [String] = []

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            guard let mode = StatsMode(rawValue: mode) else {
                throw LifeboatError(.invalidArgument, "unknown --mode \(self.mode)", hint: "use restore-size, files-by-contents, raw-data or blobs-per-file")
            }
            let ids = self.ids, filter = selection.filter
            let stats = try await global.withRepository { r in
                let all = try await r.snapshots()
                let chosen = ids.isEmpty ? all.filter { filter.matches($0.snapshot) }
                                         : try ids.map { try SnapshotSelector(parsing: $0).resolve(in: all, filter: filter) }
                return try await StatsCollector(repository: r).collect(chosen, mode: mode)
            }
            if output.json {
                var fields: [(String, JSONValueOut)] = [("total_size", .uint(stats.totalSize)), ("total_file_count", .uint(stats.totalFileCount))]
                if mode == .rawData || mode == .blobsPerFile { fields.append(("total_blob_count", .uint(stats.totalBlobCount))) }
                if mode == .rawData {
                    fields += [("total_uncompressed_size", .uint(stats.totalUncompressedSize)),
                               ("compression_ratio", .double(stats.compressionRatio)), ("deduplication_ratio", .double(stats.deduplicationRatio)),
                               ("restore_size", .uint(stats.restoreSize))]
                }
                fields.append(("snapshots_count", .int(Int64(stats.snapshots))))
                output.emit(.object(fields))
                return
            }
            printOut("Stats in \(mode.rawValue) mode:")
            printOut("     Snapshots processed:  \(stats.snapshots)")
            if mode == .rawData || mode == .blobsPerFile { printOut("        Total Blob Count:  \(stats.totalBlobCount)") }
            if mode != .rawData { printOut("        Total File Count:  \(stats.totalFileCount)") }
            printOut("              Total Size:  \(Format.bytes(stats.totalSize))")
            if mode == .rawData {
                printOut(" Total Uncompressed Size:  \(Format.bytes(stats.totalUncompressedSize))")
                printOut("       Compression Ratio:  \(Format.fixed(stats.compressionRatio, decimals: 2))x")
                printOut("    Deduplication Ratio:  \(Format.fixed(stats.deduplicationRatio, decimals: 2))x (restore size \(Format.bytes(stats.restoreSize)))")
            }
        }
    }
}
