import Testing
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

/// Policy tables: snapshot times (as recorded, with their zone) → which are kept and why.
@Suite struct RetentionPolicyTests {
    static let now = Timestamp(rfc3339: "2030-01-01T00:00:00Z")!

    /// Snapshots named by their time text; IDs derived from the position so ties are stable.
    func group(_ times: [String], tags: [[String]] = []) -> [(id: ID, snapshot: Snapshot)] {
        times.enumerated().map { i, text in
            var s = Snapshot(time: Timestamp(rfc3339: text)!, tree: .zero, paths: ["/data"])
            s.hostname = "h"
            if i < tags.count { s.tags = tags[i] }
            return (ID(w0: UInt64(i + 1), w1: 0, w2: 0, w3: 0), s)
        }
    }

    /// The kept times (as given) and their reasons, newest first.
    func kept(_ times: [String], _ policy: RetentionPolicy, tags: [[String]] = [], holds: [Int: String] = [:]) -> [String: [String]] {
        let g = group(times, tags: tags)
        var holdMap: [ID: RetentionHold] = [:]
        for (i, until) in holds {
            holdMap[g[i].id] = RetentionHold(snapshot: g[i].id, until: Timestamp(rfc3339: until)!, reason: "case", created: .epoch,
                                             hostname: "h", username: "u")
        }
        var out: [String: [String]] = [:]
        for d in policy.apply(to: g, holds: holdMap, now: Self.now) where d.keep {
            out[times[Int(d.id.w0) - 1]] = d.reasons
        }
        return out
    }

    @Test func severalPerDayKeepTheNewestOfEachDay() {
        var p = RetentionPolicy()
        p.daily = 3
        let times = ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-02T09:00:00Z",
                     "2024-01-03T08:00:00Z", "2024-01-03T20:00:00Z", "2024-01-04T01:00:00Z"]
        #expect(kept(times, p) == [
            "2024-01-04T01:00:00Z": ["daily snapshot"],
            "2024-01-03T20:00:00Z": ["daily snapshot"],
            "2024-01-02T09:00:00Z": ["daily snapshot"],
        ])
    }

    @Test func countsLeftOverAlsoKeepTheOldest() {
        var p = RetentionPolicy()
        p.daily = 10
        let times = ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-02T09:00:00Z",
                     "2024-01-03T08:00:00Z", "2024-01-03T20:00:00Z"]
        let k = kept(times, p)
        #expect(Set(k.keys) == ["2024-01-03T20:00:00Z", "2024-01-02T09:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T10:00:00Z"])
    }

    @Test func daysAreTheSnapshotsOwnLocalDays() {
        // B is 04:30 UTC on Jan 2 but was recorded at 23:30 on Jan 1 (UTC-5): its day is Jan 1.
        var p = RetentionPolicy()
        p.daily = 2
        let times = ["2024-01-01T20:00:00Z", "2024-01-02T02:00:00Z", "2024-01-01T23:30:00-05:00"]
        #expect(Set(kept(times, p).keys) == ["2024-01-01T23:30:00-05:00", "2024-01-02T02:00:00Z"])
        // The same instants recorded in UTC fall on one day: the older one on Jan 2 goes.
        let utc = ["2024-01-01T20:00:00Z", "2024-01-02T02:00:00Z", "2024-01-02T04:30:00Z"]
        #expect(Set(kept(utc, p).keys) == ["2024-01-02T04:30:00Z", "2024-01-01T20:00:00Z"])
    }

    @Test func weeksAreISOWeeksAcrossTheYearEnd() {
        var p = RetentionPolicy()
        p.weekly = 2
        // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53; 2021-01-04 starts 2021-W01.
        let times = ["2020-12-31T12:00:00Z", "2021-01-03T12:00:00Z", "2021-01-04T12:00:00Z"]
        #expect(kept(times, p) == ["2021-01-04T12:00:00Z": ["weekly snapshot"], "2021-01-03T12:00:00Z": ["weekly snapshot"]])
    }

    @Test func monthlyAndYearlyCombineReasons() {
        var p = RetentionPolicy()
        p.monthly = 2
        p.yearly = 2
        let times = ["2022-12-15T00:00:00Z", "2023-11-20T00:00:00Z", "2023-12-01T00:00:00Z", "2023-12-20T00:00:00Z"]
        #expect(kept(times, p) == [
            "2023-12-20T00:00:00Z": ["monthly snapshot", "yearly snapshot"],
            "2023-11-20T00:00:00Z": ["monthly snapshot"],
            "2022-12-15T00:00:00Z": ["yearly snapshot"],
        ])
    }

    @Test func keepWithinIsMeasuredFromTheNewestAndIsStrict() throws {
        var p = RetentionPolicy()
        p.within = try RetentionDuration(parsing: "2d")
        let times = ["2024-01-08T12:00:00Z", "2024-01-08T12:00:01Z", "2024-01-10T12:00:00Z"]
        #expect(kept(times, p) == ["2024-01-08T12:00:01Z": ["within 2d"], "2024-01-10T12:00:00Z": ["within 2d"]])
    }

    @Test func keepWithinUsesCalendarMonths() throws {
        // March 31 minus one month is "February 31", normalized to March 2 (Go's AddDate).
        var p = RetentionPolicy()
        p.within = try RetentionDuration(parsing: "1m")
        let times = ["2024-03-01T12:00:00Z", "2024-03-02T12:00:01Z", "2024-03-31T12:00:00Z"]
        #expect(Set(kept(times, p).keys) == ["2024-03-02T12:00:01Z", "2024-03-31T12:00:00Z"])
    }

    @Test func futureSnapshotsDoNotMoveTheWithinReference() throws {
        var p = RetentionPolicy()
        p.within = try RetentionDuration(parsing: "1d")
        let times = ["2029-12-29T12:00:00Z", "2029-12-31T06:00:00Z", "2031-01-01T00:00:00Z"]
        // The 2031 snapshot is after `now`: the reference stays 2029-12-31T06:00, so the one 42 h
        // before it goes (measured from 2031 the window would hold neither 2029 snapshot).
        #expect(Set(kept(times, p).keys) == ["2029-12-31T06:00:00Z", "2031-01-01T00:00:00Z"])
    }

    @Test func withinDailyKeepsOnePerDayInsideTheWindow() throws {
        var p = RetentionPolicy()
        p.withinDaily = try RetentionDuration(parsing: "2d")
        let times = ["2024-01-07T10:00:00Z", "2024-01-08T10:00:00Z", "2024-01-09T08:00:00Z", "2024-01-09T10:00:00Z",
                     "2024-01-10T09:00:00Z"]
        #expect(kept(times, p) == [
            "2024-01-10T09:00:00Z": ["daily within 2d"], "2024-01-09T10:00:00Z": ["daily within 2d"],
            "2024-01-08T10:00:00Z": ["daily within 2d"],
        ])
    }

    @Test func tagsAndLastCombine() {
        var p = RetentionPolicy()
        p.last = 1
        p.tags = [["keep", "prod"]]
        let times = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
        let k = kept(times, p, tags: [["keep", "prod"], ["keep"], []])
        #expect(k == ["2024-01-03T00:00:00Z": ["last snapshot"], "2024-01-01T00:00:00Z": ["has tags [keep prod]"]])
    }

    @Test func minusOneKeepsAll() {
        var p = RetentionPolicy()
        p.last = -1
        let times = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
        #expect(kept(times, p).count == 3)
    }

    @Test func emptyPolicyKeepsEverything() {
        let times = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]
        #expect(kept(times, RetentionPolicy()) == ["2024-01-01T00:00:00Z": ["policy is empty"],
                                                   "2024-01-02T00:00:00Z": ["policy is empty"]])
    }

    @Test func activeHoldsWinOverThePolicyExpiredOnesDoNot() {
        var p = RetentionPolicy()
        p.last = 1
        let times = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
        let k = kept(times, p, holds: [0: "2031-01-01T00:00:00Z", 1: "2029-06-01T00:00:00Z"])
        #expect(k == ["2024-01-03T00:00:00Z": ["last snapshot"], "2024-01-01T00:00:00Z": ["held until 2031-01-01T00:00:00Z"]])
        let g = group(times)
        let hold = RetentionHold(snapshot: g[0].id, until: Timestamp(rfc3339: "2031-01-01T00:00:00Z")!, reason: "", created: .epoch,
                                 hostname: "", username: "")
        let decision = p.apply(to: g, holds: [g[0].id: hold], now: Self.now).first { $0.id == g[0].id }!
        #expect(decision.keptByHoldOnly)
    }

    @Test func explicitIDsUnderHoldAreRefused() throws {
        let g = group(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"])
        let hold = RetentionHold(snapshot: g[0].id, until: Timestamp(rfc3339: "2031-01-01T00:00:00Z")!, reason: "legal", created: .epoch,
                                 hostname: "", username: "")
        #expect(throws: LifeboatError.self) {
            _ = try ForgetPlanner.plan(snapshots: g, filter: SnapshotFilter(), grouping: SnapshotGrouping(), policy: RetentionPolicy(),
                                       ids: [g[0].id], holds: [g[0].id: hold], now: Self.now)
        }
        let groups = try ForgetPlanner.plan(snapshots: g, filter: SnapshotFilter(), grouping: SnapshotGrouping(),
                                            policy: RetentionPolicy(), ids: [g[1].id], holds: [g[0].id: hold], now: Self.now)
        #expect(groups.flatMap(\.remove).map(\.id) == [g[1].id])
    }

    @Test func groupingSeparatesHostsAndPaths() throws {
        var a = Snapshot(time: Timestamp(rfc3339: "2024-01-01T00:00:00Z")!, tree: .zero, paths: ["/b", "/a"])
        a.hostname = "x"
        var b = a
        b.paths = ["/a", "/b"]
        var c = a
        c.hostname = "y"
        let list = [(ID(w0: 1, w1: 0, w2: 0, w3: 0), a), (ID(w0: 2, w1: 0, w2: 0, w3: 0), b), (ID(w0: 3, w1: 0, w2: 0, w3: 0), c)]
        #expect(SnapshotGrouping().group(list).map { $0.snapshots.count } == [2, 1])
        #expect(try SnapshotGrouping(parsing: "").group(list).count == 1)
        #expect(throws: LifeboatError.self) { try SnapshotGrouping(parsing: "hostname") }
    }

    @Test func durationsParseAndPrintLikeRestic() throws {
        #expect(try RetentionDuration(parsing: "1y2m3d4h") == RetentionDuration(years: 1, months: 2, days: 3, hours: 4))
        #expect(try RetentionDuration(parsing: "2d12h").description == "2d12h")
        #expect(throws: LifeboatError.self) { try RetentionDuration(parsing: "5") }
        #expect(throws: LifeboatError.self) { try RetentionDuration(parsing: "3w") }
    }
}
