import Testing
import LifeboatCore

@Suite struct ByteOrderTests {
    @Test("bytesPrecede orders like lexicographicallyPrecedes: prefixes, high bytes, empty names")
    func agreesWithTheStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        // Short names from a tiny alphabet, so equal prefixes and prefix pairs are common.
        let alphabet: [UInt8] = [0x00, 0x2e, 0x41, 0x61, 0x7f, 0x80, 0xff]
        let names = (0..<300).map { _ in (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! } }
        for a in names {
            for b in names.prefix(60) {
                #expect(bytesPrecede(a, b) == a.lexicographicallyPrecedes(b), "\(a) vs \(b)")
            }
        }
        #expect(names.sorted(by: bytesPrecede) == names.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
