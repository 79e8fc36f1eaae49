public import LifeboatCore

/// restic's retention duration: `1y2m3d4h` (any subset, in this order or not), calendar-based.
public struct RetentionDuration: Sendable, Equatable, CustomStringConvertible {
    public var years: Int64 = 0, months: Int64 = 0, days: Int64 = 0, hours: Int64 = 0

    public init(years: Int64 = 0, months: Int64 = 0, days: Int64 = 0, hours: Int64 = 0) {
        self.years = years; self.months = months; self.days = days; self.hours = hours
    }

    /// - Throws: `.invalidArgument` for anything but numbers followed by y, m, d or h.
    public init(parsing text: String) throws {
        var number: Int64?
        for ch in text {
            if let digit = ch.wholeNumberValue, ch.isASCII {
                number = (number ?? 0) * 10 + Int64(digit)
                continue
            }
            guard let n = number else {
                throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\": expected a number before \"\(ch)\"",
                                    hint: "use numbers with y, m, d, h, e.g. 1y6m or 7d12h")
            }
            switch ch {
            case "y": years += n
            case "m": months += n
            case "d": days += n
            case "h": hours += n
            default:
                throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\": unknown unit \"\(ch)\"",
                                    hint: "units are y (years), m (months), d (days), h (hours)")
            }
            number = nil
        }
        if number != nil || text.isEmpty {
            throw LifeboatError(.invalidArgument, "invalid duration \"\(text)\": a number lacks its unit",
                                hint: "use numbers with y, m, d, h, e.g. 1y6m or 7d12h")
        }
    }

    public var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

    /// As restic prints it: only the non-zero parts, e.g. `1y2d`.
    public var description: String {
        var s = ""
        if years != 0 { s += "\(years)y" }
        if months != 0 { s += "\(months)m" }
        if days != 0 { s += "\(days)d" }
        if hours != 0 { s += "\(hours)h" }
        return s
    }

    /// The instant this duration before `time`, in `time`'s own zone (Go's AddDate, then hours).
    public func before(_ time: Timestamp) -> Timestamp {
        var t = time.addingDate(years: -years, months: -months, days: -days)
        t.seconds -= hours * 3_600
        return t
    }
}
