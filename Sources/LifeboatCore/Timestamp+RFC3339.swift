#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 3339 text as Go's `time.Time` writes it in JSON (`RFC3339Nano`): nanoseconds with
/// trailing zeros removed, `Z` for a zero offset, else `±hh:mm`. The calendar math is
/// done here (proleptic Gregorian, days-from-civil) so that Core needs no Foundation.
extension Timestamp {
    /// Go's zero `time.Time` (0001-01-01T00:00:00Z): what Go leaves in a missing time field.
    public static let goZero = Timestamp(seconds: -62_135_596_800)

    /// The current wall-clock time in UTC (`clock_gettime(CLOCK_REALTIME)`).
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// E.g. `2026-11-22T01:24:24.050655287Z` or `2024-01-03T12:00:00+01:00`.
    public var rfc3339: String {
        var out = [UInt8]()
        out.reserveCapacity(35)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2026-11-22 03:00:00`: the instant in UTC to the second, for tables.
    public var utcDisplay: String {
        let c = Civil(seconds: seconds)
        var out = [UInt8]()
        appendDate(c, to: &out)
        out.append(UInt8(ascii: " "))
        appendClock(c, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the RFC 3339 text (without quotes).
    public func appendRFC3339(to out: inout [UInt8]) {
        // Go's minute-granular offset: seconds of an offset are not written.
        let offsetMinutes = Int64(utcOffset) / 60
        let c = Civil(seconds: seconds + offsetMinutes * 60)
        appendDate(c, to: &out)
        out.append(UInt8(ascii: "T"))
        appendClock(c, to: &out)
        if nanoseconds > 0 {
            var digits = Int(nanoseconds)
            var count = 9
            while digits % 10 == 0 { digits /= 10; count -= 1 }
            out.append(UInt8(ascii: "."))
            appendPadded(Int64(digits), width: count, to: &out)
        }
        if offsetMinutes == 0 {
            out.append(UInt8(ascii: "Z"))
        } else {
            out.append(UInt8(ascii: offsetMinutes < 0 ? "-" : "+"))
            let m = abs(offsetMinutes)
            appendPadded(m / 60, width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            appendPadded(m % 60, width: 2, to: &out)
        }
    }

    /// Parses RFC 3339 with any fraction length (digits beyond nanoseconds are truncated)
    /// and any `Z`/`±hh:mm` offset; the offset is kept in `utcOffset`.
    public init?(rfc3339 text: String) {
        var text = text
        guard let value = text.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = value
    }

    /// Parses RFC 3339 from raw bytes.
    public static func parse(_ p: UnsafeRawBufferPointer) -> Timestamp? {
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= p.count else { return nil }
            var v: Int64 = 0
            for k in i..<i + n {
                let d = p[k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8, or alt: UInt8? = nil) -> Bool {
            guard i < p.count, p[i] == c || p[i] == alt else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2), expect(UInt8(ascii: "T"), or: UInt8(ascii: "t")),
              let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Civil.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var nanos: Int64 = 0
        if i < p.count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",") {
            i += 1
            var count = 0
            while i < p.count, p[i] &- UInt8(ascii: "0") < 10 {
                if count < 9 { nanos = nanos * 10 + Int64(p[i] - UInt8(ascii: "0")) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if expect(UInt8(ascii: "Z"), or: UInt8(ascii: "z")) {
            offset = 0
        } else if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            let negative = p[i] == UInt8(ascii: "-")
            i += 1
            guard let oh = digits(2), expect(UInt8(ascii: ":")), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * 60 * (negative ? -1 : 1)
        } else {
            return nil
        }
        guard i == p.count else { return nil }
        let days = Civil.daysFromCivil(year: year, month: month, day: day)
        let local = days * 86_400 + hour * 3_600 + minute * 60 + second
        return Timestamp(seconds: local - offset, nanoseconds: Int32(nanos), utcOffset: Int32(offset))
    }

    private func appendDate(_ c: Civil, to out: inout [UInt8]) {
        if c.year < 0 { out.append(UInt8(ascii: "-")) }
        appendPadded(abs(c.year), width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(c.month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(c.day, width: 2, to: &out)
    }

    private func appendClock(_ c: Civil, to out: inout [UInt8]) {
        appendPadded(c.secondOfDay / 3_600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(c.secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(c.secondOfDay % 60, width: 2, to: &out)
    }

    private func appendPadded(_ value: Int64, width: Int, to out: inout [UInt8]) {
        var digits = [UInt8]()
        var v = value
        repeat { digits.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 } while v > 0
        if digits.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
        out.append(contentsOf: digits.reversed())
    }
}

/// A UTC calendar date and time of day (Howard Hinnant's days-from-civil algorithm).
struct Civil {
    var year: Int64, month: Int64, day: Int64, secondOfDay: Int64

    init(seconds: Int64) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        secondOfDay = rest
        // civil-from-days, eras of 400 years starting 0000-03-01.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension JSONWriter {
    /// Writes a time as Go does (`"2024-01-03T12:00:00+01:00"`), keeping its offset.
    public mutating func timestamp(_ time: Timestamp) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        time.appendRFC3339(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }
}
