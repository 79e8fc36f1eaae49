import Testing
import LifeboatCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2024-01-01T10:00:00Z", Int64(1_704_103_200), Int32(0), Int32(0)),
        ("2023-05-06T07:08:09.5Z", 1_683_356_889, 500_000_000, 0),
        ("2026-11-22T01:24:24.050655287Z", 1_795_310_664, 50_655_287, 0),
        ("2024-01-03T12:00:00+01:00", 1_704_279_600, 0, 3600),
        ("2023-12-31T12:34:56.123456789-07:30", 1_704_053_096, 123_456_789, -27_000),
        ("1970-01-01T00:00:00Z", 0, 0, 0),
        ("1969-12-31T23:59:59.999999999Z", -1, 999_999_999, 0),
        ("2024-02-29T00:00:00Z", 1_709_164_800, 0, 0),
        ("0001-01-01T00:00:00Z", -62_135_596_800, 0, 0),
        ("9999-12-31T23:59:59Z", 253_402_300_799, 0, 0),
    ])
    func formatsAndParses(text: String, seconds: Int64, nanos: Int32, offset: Int32) throws {
        let t = try #require(Timestamp(rfc3339: text))
        #expect(t.seconds == seconds && t.nanoseconds == nanos && t.utcOffset == offset)
        #expect(t.rfc3339 == text)
        #expect(Timestamp(seconds: seconds, nanoseconds: nanos, utcOffset: offset).rfc3339 == text)
    }

    @Test func parsesOtherFractionLengthsAndZones() throws {
        #expect(Timestamp(rfc3339: "2024-01-01T10:00:00.100Z")?.rfc3339 == "2024-01-01T10:00:00.1Z")
        #expect(Timestamp(rfc3339: "2024-01-01T10:00:00.1234567891234Z")?.nanoseconds == 123_456_789)
        #expect(Timestamp(rfc3339: "2024-01-01T10:00:00+00:00")?.rfc3339 == "2024-01-01T10:00:00Z")
        #expect(Timestamp(rfc3339: "2024-01-01t10:00:00z")?.seconds == 1_704_103_200)
        #expect(Timestamp.goZero.rfc3339 == "0001-01-01T00:00:00Z")
    }

    @Test(arguments: ["", "2024-01-01", "2024-01-01T10:00:00", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
                      "2024-01-01T24:00:00Z", "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00+0100", "2024-01-01T10:00:00Zx",
                      "2024-01-01 10:00:00Z"])
    func rejectsInvalid(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func displaysUTC() throws {
        #expect(Timestamp(rfc3339: "2024-01-03T12:00:00+01:00")?.utcDisplay == "2024-01-03 11:00:00")
        #expect(Timestamp(rfc3339: "2026-11-22T03:00:00.75Z")?.utcDisplay == "2026-11-22 03:00:00")
    }

    @Test func nowIsRecent() {
        let now = Timestamp.now()
        #expect(now.seconds > 1_790_000_000)
        #expect(now.nanoseconds >= 0 && now.nanoseconds < 1_000_000_000)
        #expect(now.utcOffset == 0)
    }
}
