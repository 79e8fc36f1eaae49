import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove snapshots by ID or by a retention policy (and optionally prune).",
        discussion: """
            Snapshots are grouped by --group-by (default host,paths) and the policy is applied to each group:
            every --keep-* rule that matches a snapshot keeps it; the reasons are shown. Time periods use each
            snapshot's time in the zone it was recorded in. Snapshots under a retention hold (`lifeboat hold`)
            are never removed before the hold expires.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("l"), .customLong("keep-last")], help: "Keep the last N snapshots (-1: all).")
    var keepLast = 0
    @Option(name: [.customShort("H"), .customLong("keep-hourly")], help: "Keep the last N hourly snapshots.")
    var keepHourly = 0
    @Option(name: [.customShort("d"), .customLong("keep-daily")], help: "Keep the last N daily snapshots.")
    var keepDaily = 0
    @Option(name: [.customShort("w"), .customLong("keep-weekly")], help: "Keep the last N weekly snapshots.")
    var keepWeekly = 0
    @Option(name: [.customShort("m"), .customLong("keep-monthly")], help: "Keep the last N monthly snapshots.")
    var keepMonthly = 0
    @Option(name: [.customShort("y"), .customLong("keep-yearly")], help: "Keep the last N yearly snapshots.")
    var keepYearly = 0
    @Option(name: .customLong("keep-within"), help: "Keep snapshots newer than DURATION (e.g. 1y5m7d2h) before the newest.")
    var keepWithin: String?
    @Option(name: .customLong("keep-within-hourly"), help: "Keep hourly snapshots within DURATION of the newest.")
    var keepWithinHourly: String?
    @Option(name: .customLong("keep-within-daily"), help: "Keep daily snapshots within DURATION of the newest.")
    var keepWithinDaily: String?
    @Option(name: .customLong("keep-within-weekly"), help: "Keep weekly snapshots within DURATION of the newest.")
    var keepWithinWeekly: String?
    @Option(name: .customLong("keep-within-monthly"), help: "Keep monthly snapshots within DURATION of the newest.")
    var keepWithinMonthly: String?
    @Option(name: .customLong("keep-within-yearly"), help: "Keep yearly snapshots within DURATION of the newest.")
    var keepWithinYearly: String?
    @Option(name: .customLong("keep-tag"), help: "Keep snapshots with this taglist (comma-separated = all of them; repeatable).")
    var keepTags: [String] = []

    @Option(name: .customLong("host"), help: "Only consider snapshots of this host (repeatable).")
    var hosts: [String] = []
    @Option(name: .customLong("tag"), help: "Only consider snapshots with these tags (repeatable).")
    var tags: [String] = []
    @Option(name: .customLong("path"), help: "Only consider snapshots that include this path (repeatable).")
    var paths: [String] = []
    @Option(name: [.customShort("g"), .customLong("group-by")], help: "Group snapshots by host, paths and/or tags (\"\" for one group).")
    var groupBy = "host,paths"

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Only show what would be removed.")
    var dryRun = false
    @Flag(name: .customLong("prune"), help: "Run prune afterwards if snapshots were removed.")
    var prune = false
    @OptionGroup var pruneOptions: PruneCLIOptions

    @Argument(help: "Snapshot IDs to forget (instead of a policy).")
    var ids: [String] = []

    func policy() throws -> RetentionPolicy {
        var p = RetentionPolicy()
        for (name, value) in [("--keep-last", keepLast), ("--keep-hourly", keepHourly), ("--keep-daily", keepDaily),
                              ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly), ("--keep-yearly", keepYearly)]
            where value < -1 {
            throw LifeboatError(.invalidArgument, "\(name) \(value) is invalid", hint: "use a count, or -1 for all")
        }
        p.last = keepLast; p.hourly = keepHourly; p.daily = keepDaily
        p.weekly = keepWeekly; p.monthly = keepMonthly; p.yearly = keepYearly
        func duration(_ text: String?) throws -> RetentionDuration { try text.map(RetentionDuration.init(parsing:)) ?? RetentionDuration() }
        p.within = try duration(keepWithin)
        p.withinHourly = try duration(keepWithinHourly)
        p.withinDaily = try duration(keepWithinDaily)
        p.withinWeekly = try duration(keepWithinWeekly)
        p.withinMonthly = try duration(keepWithinMonthly)
        p.withinYearly = try duration(keepWithinYearly)
        p.tags = keepTags.map { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
        return p
    }

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let policy = try policy()
            let grouping = try SnapshotGrouping(parsing: groupBy)
            let pruneSettings = try pruneOptions.options(dryRun: dryRun)
            if policy.isEmpty && ids.isEmpty {
                output.info("no policy was specified, no snapshots will be removed")
                if output.json { output.emit(.array([])) }
                return
            }
            let filter = SnapshotFilter(hosts: hosts, tags: tags, paths: paths)
            let ids = self.ids, dryRun = self.dryRun, prune = self.prune
            try await global.withRepository(exclusive: true) { repository in
                let (readable, damaged) = try await repository.readableSnapshots()
                warnAboutDamaged(damaged, output: output)
                let chosen = try ids.map { try SnapshotSelector(parsing: $0).resolve(in: readable).id }
                let holds = try await HoldStore(repository: repository).bySnapshot()
                let groups = try ForgetPlanner.plan(snapshots: readable, filter: filter, grouping: grouping, policy: policy,
                                                    ids: chosen, holds: holds)
                if ids.isEmpty { output.info("Applying Policy: \(policy.summary)") }
                if output.json {
                    output.emit(.array(groups.map(forgetGroupJSON)))
                } else {
                    for group in groups where ids.isEmpty { printGroup(group, output: output) }
                }
                var removed: [ID] = []
                if !dryRun {
                    removed = try await ForgetPlanner.execute(groups, repository: repository)
                    if ids.count > 0 || output.verbose {
                        for id in removed { output.info("removed snapshot \(id.short)") }
                    }
                    output.info("\(removed.count) snapshot\(removed.count == 1 ? "" : "s") removed")
                } else {
                    let count = groups.reduce(0) { $0 + $1.remove.count }
                    output.info("would remove \(count) snapshot\(count == 1 ? "" : "s") (dry run)")
                }
                if prune && (!removed.isEmpty || dryRun) {
                    output.info("")
                    try await runPrune(repository: repository, options: pruneSettings, output: output)
                }
            }
        }
    }

    private func printGroup(_ group: ForgetGroup, output: Output) {
        guard !output.quiet else { return }
        var parts: [String] = []
        if let host = group.key.host { parts.append("host [\(host)]") }
        if let paths = group.key.paths { parts.append("paths [\(paths.joined(separator: ", "))]") }
        if let tags = group.key.tags { parts.append("tags [\(tags.joined(separator: ", "))]") }
        if !parts.isEmpty { printOut("snapshots for (\(parts.joined(separator: ", "))):") }
        let keep = group.keep, remove = group.remove
        if !keep.isEmpty {
            printOut("keep \(keep.count) snapshots:")
            var rows = [["ID", "Time", "Host", "Tags", "Reasons", "Paths"]]
            for d in keep {
                for (i, reason) in d.reasons.enumerated() {
                    rows.append(i == 0 ? [d.id.short, d.snapshot.time.utcDisplay, d.snapshot.hostname ?? "",
                                          d.snapshot.tags.joined(separator: ","), reason, d.snapshot.paths.joined(separator: ", ")]
                                       : ["", "", "", "", reason, ""])
                }
            }
            printTable(rows)
            printOut("\(keep.count) snapshots\n")
        }
        if !remove.isEmpty {
            printOut("remove \(remove.count) snapshots:")
            var rows = [["ID", "Time", "Host", "Tags", "Paths"]]
            for d in remove {
                rows.append([d.id.short, d.snapshot.time.utcDisplay, d.snapshot.hostname ?? "",
                             d.snapshot.tags.joined(separator: ","), d.snapshot.paths.joined(separator: ", ")])
            }
            printTable(rows)
            printOut("\(remove.count) snapshots\n")
        }
        let held = keep.filter(\.keptByHoldOnly)
        for d in held {
            printOut("snapshot \(d.id.short) is kept only because of its retention hold (\(d.reasons.last ?? ""))")
        }
    }
}

/// restic's forget JSON: one object per group.
func forgetGroupJSON(_ group: ForgetGroup) -> JSONValueOut {
    func counters(_ d: RetentionDecision) -> JSONValueOut {
        var fields: [(String, JSONValueOut)] = []
        for (name, value) in [("last", d.counters.last), ("hourly", d.counters.hourly), ("daily", d.counters.daily),
                              ("weekly", d.counters.weekly), ("monthly", d.counters.monthly), ("yearly", d.counters.yearly)]
            where value != 0 {
            fields.append((name, .int(Int64(value))))
        }
        return .object(fields)
    }
    return .object([
        ("tags", group.key.tags.map { .array($0.map { .string($0) }) } ?? .null),
        ("host", .string(group.key.host ?? "")),
        ("paths", group.key.paths.map { .array($0.map { .string($0) }) } ?? .null),
        ("keep", .array(group.keep.map { snapshotJSON($0.id, $0.snapshot) })),
        ("remove", .array(group.remove.map { snapshotJSON($0.id, $0.snapshot) })),
        ("reasons", .array(group.keep.map { d in
            .object([("snapshot", snapshotJSON(d.id, d.snapshot)), ("matches", .array(d.reasons.map { .string($0) })),
                     ("counters", counters(d)), ("held", .bool(d.reasons.contains { $0.hasPrefix("held until") }))])
        })),
    ])
}
