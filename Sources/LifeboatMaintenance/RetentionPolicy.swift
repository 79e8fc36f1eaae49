public import LifeboatCore
public import LifeboatRepository

/// restic's `forget` policy. Counts of -1 mean "all"; 0 means the rule is off.
public struct RetentionPolicy: Sendable, Equatable {
    public var last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0
    public var within = RetentionDuration()
    public var withinHourly = RetentionDuration(), withinDaily = RetentionDuration(), withinWeekly = RetentionDuration()
    public var withinMonthly = RetentionDuration(), withinYearly = RetentionDuration()
    /// Keep snapshots that have every tag of at least one list.
    public var tags: [[String]] = []

    public init() {}

    public var isEmpty: Bool {
        last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && within.isZero
            && withinHourly.isZero && withinDaily.isZero && withinWeekly.isZero && withinMonthly.isZero
            && withinYearly.isZero && tags.isEmpty
    }

    /// "keep 3 daily snapshots, …" as restic prints it before applying the policy.
    public var summary: String {
        var keeps: [String] = []
        for (count, what) in [(last, "latest"), (hourly, "hourly"), (daily, "daily"), (weekly, "weekly"),
                              (monthly, "monthly"), (yearly, "yearly")] {
            if count > 0 { keeps.append("\(count) \(what)") } else if count == -1 { keeps.append("all \(what)") }
        }
        var within: [String] = []
        for (d, what) in [(withinHourly, "hourly"), (withinDaily, "daily"), (withinWeekly, "weekly"),
                          (withinMonthly, "monthly"), (withinYearly, "yearly")] where !d.isZero {
            within.append("\(what) snapshots within \(d)")
        }
        var s = keeps.isEmpty ? "" : keeps.joined(separator: ", ") + " snapshots"
        if !within.isEmpty { s += (s.isEmpty ? "" : ", ") + within.joined(separator: ", ") }
        if !tags.isEmpty {
            s += (s.isEmpty ? "" : " and ") + "all snapshots with tags " + "[" + tags.map { "[" + $0.joined(separator: " ") + "]" }.joined(separator: " ") + "]"
        }
        if !self.within.isZero { s += (s.isEmpty ? "" : " and ") + "all snapshots within \(self.within) of the newest" }
        return "keep " + s
    }
}

/// A snapshot placed under a retention hold (see `HoldStore`).
public struct RetentionHold: Sendable, Equatable {
    public var snapshot: ID
    public var until: Timestamp
    public var reason: String
    public var created: Timestamp
    public var hostname: String
    public var username: String

    public init(snapshot: ID, until: Timestamp, reason: String, created: Timestamp, hostname: String, username: String) {
        self.snapshot = snapshot; self.until = until; self.reason = reason; self.created = created
        self.hostname = hostname; self.username = username
    }

    public func isActive(at now: Timestamp) -> Bool { now < until }
}

/// What the policy decided for one snapshot.
public struct RetentionDecision: Sendable {
    public var id: ID
    public var snapshot: Snapshot
    public var keep: Bool
    /// restic's match texts ("daily snapshot", "within 2d", "has tags [a]"), plus
    /// "held until …" for a retention hold.
    public var reasons: [String]
    /// The bucket counters left after this snapshot (restic's `counters`).
    public var counters: (last: Int, hourly: Int, daily: Int, weekly: Int, monthly: Int, yearly: Int)
    /// True when only a hold kept it: the policy alone would have removed it.
    public var keptByHoldOnly: Bool
}

extension RetentionPolicy {
    /// Applies the policy to one group, newest first, the way restic's ApplyPolicy does:
    /// each count rule keeps the newest snapshot of each of its next N distinct periods
    /// (hour/day/ISO week/month/year of the snapshot's time in the zone it was recorded in);
    /// a count rule that still has counts left also keeps the group's oldest snapshot;
    /// within-rules are measured back from the newest snapshot that is not in the future.
    /// Holds active at `now` keep a snapshot whatever the policy says.
    public func apply(to group: [(id: ID, snapshot: Snapshot)], holds: [ID: RetentionHold] = [:],
                      now: Timestamp = .now()) -> [RetentionDecision] {
        // Newest first; ties keep a stable order by ID.
        let list = group.sorted { ($0.snapshot.time, $1.id) > ($1.snapshot.time, $0.id) }
        var out: [RetentionDecision] = []
        if isEmpty {
            for s in list {
                out.append(RetentionDecision(id: s.id, snapshot: s.snapshot, keep: true, reasons: ["policy is empty"],
                                             counters: (0, 0, 0, 0, 0, 0), keptByHoldOnly: false))
            }
            return out
        }
        guard !list.isEmpty else { return [] }
        var latest = Timestamp.goZero
        for s in list where s.snapshot.time > latest && s.snapshot.time < now { latest = s.snapshot.time }

        typealias Bucker = (Timestamp, Int) -> Int64
        let always: Bucker = { _, nr in Int64(nr) }
        let ymdh: Bucker = { t, _ in let d = t.localDate; return d.year * 1_000_000 + d.month * 10_000 + d.day * 100 + d.hour }
        let ymd: Bucker = { t, _ in let d = t.localDate; return d.year * 10_000 + d.month * 100 + d.day }
        let yw: Bucker = { t, _ in let w = t.localDate.isoWeek; return w.year * 100 + w.week }
        let ym: Bucker = { t, _ in let d = t.localDate; return d.year * 100 + d.month }
        let y: Bucker = { t, _ in t.localDate.year }

        var counts = [last, hourly, daily, weekly, monthly, yearly]
        var lastValues = [Int64](repeating: -1, count: 6)
        let buckers = [always, ymdh, ymd, yw, ym, y]
        let reasons = ["last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"]
        let withins = [withinHourly, withinDaily, withinWeekly, withinMonthly, withinYearly]
        var withinLast = [Int64](repeating: -1, count: 5)
        let withinBuckers = [ymdh, ymd, yw, ym, y]
        let withinReasons = ["hourly within", "daily within", "weekly within", "monthly within", "yearly within"]

        for (nr, cur) in list.enumerated() {
            var keep = false
            var why: [String] = []
            for tagList in tags where tagList.allSatisfy({ cur.snapshot.tags.contains($0) }) {
                keep = true
                why.append("has tags [\(tagList.joined(separator: " "))]")
            }
            if !within.isZero, cur.snapshot.time > within.before(latest) {
                keep = true
                why.append("within \(within)")
            }
            for i in 0..<6 where counts[i] > 0 || counts[i] == -1 {
                let value = buckers[i](cur.snapshot.time, nr)
                if value != lastValues[i] || nr == list.count - 1 {
                    keep = true
                    lastValues[i] = value
                    if counts[i] > 0 { counts[i] -= 1 }
                    why.append(reasons[i])
                }
            }
            for i in 0..<5 where !withins[i].isZero {
                guard cur.snapshot.time > withins[i].before(latest) else { continue }
                let value = withinBuckers[i](cur.snapshot.time, nr)
                if value != withinLast[i] {
                    keep = true
                    withinLast[i] = value
                    why.append("\(withinReasons[i]) \(withins[i])")
                }
            }
            var heldOnly = false
            if let hold = holds[cur.id], hold.isActive(at: now) {
                heldOnly = !keep
                keep = true
                why.append("held until \(hold.until.rfc3339)")
            }
            out.append(RetentionDecision(id: cur.id, snapshot: cur.snapshot, keep: keep, reasons: keep ? why : [],
                                         counters: (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]),
                                         keptByHoldOnly: heldOnly))
        }
        return out
    }
}

/// restic's `--group-by`: any of host, paths, tags.
public struct SnapshotGrouping: Sendable, Equatable {
    public var host = true, paths = true, tags = false

    public init(host: Bool = true, paths: Bool = true, tags: Bool = false) {
        self.host = host; self.paths = paths; self.tags = tags
    }

    /// - Throws: `.invalidArgument` for an unknown field.
    public init(parsing text: String) throws {
        host = false; paths = false; tags = false
        for field in text.split(separator: ",", omittingEmptySubsequences: true) {
            switch field.trimmingPrefixSpaces {
            case "host": host = true
            case "paths": paths = true
            case "tags": tags = true
            default:
                throw LifeboatError(.invalidArgument, "unknown --group-by field \"\(field)\"",
                                    hint: "use a comma-separated subset of host, paths, tags (or \"\" for one group)")
            }
        }
    }

    public struct Key: Hashable, Sendable {
        public var host: String?
        public var paths: [String]?
        public var tags: [String]?
    }

    public func key(for s: Snapshot) -> Key {
        Key(host: host ? (s.hostname ?? "") : nil, paths: paths ? s.paths.sorted() : nil, tags: tags ? s.tags.sorted() : nil)
    }

    /// Groups in order of their first snapshot by time.
    public func group(_ snapshots: [(id: ID, snapshot: Snapshot)]) -> [(key: Key, snapshots: [(id: ID, snapshot: Snapshot)])] {
        var order: [Key] = []
        var groups: [Key: [(id: ID, snapshot: Snapshot)]] = [:]
        for s in snapshots {
            let k = key(for: s.snapshot)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(s)
        }
        return order.map { ($0, groups[$0]!) }
    }
}

extension Substring {
    var trimmingPrefixSpaces: String { String(drop { $0 == " " }) }
}
