/// Calendar fields of a time in the zone it was recorded in (its `utcOffset`), as Go's
/// `time.Time` methods report them for a parsed RFC 3339 time.
public struct LocalDate: Sendable, Equatable {
    public var year: Int64, month: Int64, day: Int64, hour: Int64
    /// Days since 1970-01-01 of the local date.
    public var dayNumber: Int64

    /// ISO 8601 year and week (weeks start on Monday; week 1 holds the year's first Thursday).
    public var isoWeek: (year: Int64, week: Int64) {
        let weekday = ((dayNumber + 3) % 7 + 7) % 7   // 0 = Monday (1970-01-01 was a Thursday)
        let thursday = dayNumber - weekday + 3
        let c = Civil(seconds: thursday * 86_400)
        let jan1 = Civil.daysFromCivil(year: c.year, month: 1, day: 1)
        return (c.year, (thursday - jan1) / 7 + 1)
    }
}

extension Timestamp {
    public var localDate: LocalDate {
        let local = seconds + Int64(utcOffset)
        let c = Civil(seconds: local)
        var days = local / 86_400
        if local % 86_400 < 0 { days -= 1 }
        return LocalDate(year: c.year, month: c.month, day: c.day, hour: c.secondOfDay / 3_600, dayNumber: days)
    }

    /// Go's `t.AddDate(years, months, days)`: calendar arithmetic in the time's own zone,
    /// overflowing days and months normalized (March 31 minus a month is March 3 or 2).
    public func addingDate(years: Int64, months: Int64, days: Int64) -> Timestamp {
        let local = seconds + Int64(utcOffset)
        let c = Civil(seconds: local)
        let totalMonths = (c.year + years) * 12 + (c.month - 1) + months
        let year = totalMonths >= 0 ? totalMonths / 12 : (totalMonths - 11) / 12
        let month = totalMonths - year * 12 + 1
        let dayNumber = Civil.daysFromCivil(year: year, month: month, day: 1) + c.day - 1 + days
        let newLocal = dayNumber * 86_400 + c.secondOfDay
        return Timestamp(seconds: newLocal - Int64(utcOffset), nanoseconds: nanoseconds, utcOffset: utcOffset)
    }
}
