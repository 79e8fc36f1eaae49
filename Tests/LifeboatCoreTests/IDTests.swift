import Testing
import LifeboatCore

@Suite struct IDTests {
    @Test func hexRoundTripsInBothCases() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let hex = Hex.encode(bytes)
            #expect(ID(hex: hex)?.bytes == bytes)
            #expect(ID(hex: hex.uppercased())?.bytes == bytes)
        }
    }

    @Test func hexRejectsEveryNonDigitAndWrongLengths() {
        let valid = String(repeating: "0123456789abcdef", count: 4)
        #expect(ID(hex: valid) != nil)
        // The bytes around each accepted range, at the first and last position.
        for bad in ["/", ":", "@", "G", "`", "g", " ", "\u{7F}", "é"] {
            #expect(ID(hex: bad + valid.dropFirst()) == nil, "\(bad) first")
            #expect(ID(hex: valid.dropLast() + bad) == nil, "\(bad) last")
        }
        #expect(ID(hex: String(valid.dropLast())) == nil)
        #expect(ID(hex: valid + "0") == nil)
    }
}
