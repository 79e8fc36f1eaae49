import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List snapshots.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Option(help: "Only the newest N snapshots per host and paths.")
    var latest: Int?

    @Argument(help: "Snapshot IDs to show (default: all).")
    var ids: [String] = []

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let (readable, location) = try await global.withRepository { repository in
                (try await repository.readableSnapshots(), repository.location)
            }
            let all = readable.snapshots
            warnAboutDamaged(readable.damaged, output: output)
            let at = try selection.instant()
            var list = all.filter { selection.filter.matches($0.snapshot) && (at == nil || $0.snapshot.time <= at!) }
            if !ids.isEmpty {
                let wanted = try ids.map { try SnapshotSelector(parsing: $0).resolve(in: all).id }
                list = list.filter { wanted.contains($0.id) }
            }
            if let latest {
                var kept: [(id: ID, snapshot: Snapshot)] = []
                let groups = Dictionary(grouping: list) { "\($0.snapshot.hostname ?? "")\u{0}\($0.snapshot.paths.sorted())" }
                for (_, group) in groups { kept += group.suffix(latest) }
                list = kept.sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
            }
            if output.json {
                output.emit(.array(list.map { snapshotJSON($0.id, $0.snapshot) }))
                return
            }
            var rows = [["ID", "Time", "Host", "Tags", "Paths", "Size"]]
            for (id, s) in list {
                let size = s.summary.map { Format.bytes($0.totalBytesProcessed) } ?? ""
                rows.append([id.short, s.time.utcDisplay, s.hostname ?? "", s.tags.joined(separator: ","),
                             s.paths.joined(separator: ", "), size])
            }
            printTable(rows)
            output.info("\(list.count) snapshot\(list.count == 1 ? "" : "s") in \(location)")
        }
    }
}

func printTable(_ rows: [[String]]) {
    guard let header = rows.first else { return }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ row: [String]) -> String {
        var text = row.enumerated().map { i, cell in cell + String(repeating: " ", count: widths[i] - cell.count) }.joined(separator: "  ")
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
    printOut(line(header))
    printOut(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
    for row in rows.dropFirst() { printOut(line(row)) }
    printOut(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
}
