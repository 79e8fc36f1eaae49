/// A point in time with nanosecond precision, plus the UTC offset it was written with.
///
/// restic writes node and snapshot times in the backing-up host's zone; the offset is kept
/// so a decoded time can be shown as written. Equality and order use the instant only.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// 0 ..< 1_000_000_000.
    public var nanoseconds: Int32
    /// Offset from UTC in seconds, as written (0 for `Z`).
    public var utcOffset: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0, utcOffset: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.utcOffset = utcOffset
    }

    public static let epoch = Timestamp(seconds: 0)

    public static func == (a: Timestamp, b: Timestamp) -> Bool {
        a.seconds == b.seconds && a.nanoseconds == b.nanoseconds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(seconds)
        hasher.combine(nanoseconds)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// The same instant expressed in UTC.
    public var utc: Timestamp { Timestamp(seconds: seconds, nanoseconds: nanoseconds, utcOffset: 0) }
}
