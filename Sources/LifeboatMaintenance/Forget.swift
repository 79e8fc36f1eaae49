public import LifeboatCore
public import LifeboatRepository

/// One `--group-by` group and the policy's decisions for it.
public struct ForgetGroup: Sendable {
    public var key: SnapshotGrouping.Key
    /// Newest first, as restic lists them.
    public var decisions: [RetentionDecision]
    public var keep: [RetentionDecision] { decisions.filter(\.keep) }
    public var remove: [RetentionDecision] { decisions.filter { !$0.keep } }
}

/// Plans `forget`: explicit IDs, or the policy per group; holds always win.
public enum ForgetPlanner {
    /// - Parameter ids: snapshots named on the command line (already resolved); when
    ///   given, the policy is not applied and exactly these are removed.
    /// - Throws: `.invalidArgument` when an explicitly named snapshot is under an active hold.
    public static func plan(snapshots: [(id: ID, snapshot: Snapshot)], filter: SnapshotFilter, grouping: SnapshotGrouping,
                            policy: RetentionPolicy, ids: [ID], holds: [ID: RetentionHold],
                            now: Timestamp = .now()) throws -> [ForgetGroup] {
        if !ids.isEmpty {
            let wanted = Set(ids)
            for id in ids {
                if let hold = holds[id], hold.isActive(at: now) {
                    throw LifeboatError(.invalidArgument,
                                        "snapshot \(id.short) is held until \(hold.until.rfc3339)\(hold.reason.isEmpty ? "" : " (\(hold.reason))") and cannot be forgotten",
                                        hint: "see `lifeboat hold --list`; nothing was removed")
                }
            }
            let chosen = snapshots.filter { wanted.contains($0.id) }
            let decisions = chosen.sorted { $0.snapshot.time > $1.snapshot.time }.map {
                RetentionDecision(id: $0.id, snapshot: $0.snapshot, keep: false, reasons: [], counters: (0, 0, 0, 0, 0, 0),
                                  keptByHoldOnly: false)
            }
            return [ForgetGroup(key: SnapshotGrouping.Key(host: nil, paths: nil, tags: nil), decisions: decisions)]
        }
        let matching = snapshots.filter { filter.matches($0.snapshot) }
        return grouping.group(matching).map { group in
            ForgetGroup(key: group.key, decisions: policy.apply(to: group.snapshots, holds: holds, now: now))
        }
    }

    /// Removes the snapshot files of every decision to remove; returns how many went.
    public static func execute(_ groups: [ForgetGroup], repository: Repository) async throws -> [ID] {
        var removed: [ID] = []
        for group in groups {
            for d in group.remove {
                try await repository.backend.remove(FileHandle(.snapshot, d.id))
                removed.append(d.id)
            }
        }
        return removed
    }
}
