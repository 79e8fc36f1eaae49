/// Polynomials over GF(2) of degree < 64, as restic's chunker uses them.
///
/// restic refuses a repository whose `chunker_polynomial` is not an irreducible polynomial
/// of degree 53, so `init` must draw one even though Lifeboat's own chunker does not use it
/// as a Rabin modulus (it seeds the gear table with it).
public struct Polynomial: Hashable, Sendable, CustomStringConvertible {
    public var bits: UInt64
    public init(_ bits: UInt64) { self.bits = bits }

    public var degree: Int { bits == 0 ? -1 : 63 - bits.leadingZeroBitCount }
    /// Lowercase hex without leading zeros, as restic writes it.
    public var description: String { String(bits, radix: 16) }

    public init?(hex: String) {
        guard let v = UInt64(hex, radix: 16) else { return nil }
        bits = v
    }

    static func mod(_ a: UInt64, _ m: UInt64) -> UInt64 {
        var a = a
        let dm = 63 - m.leadingZeroBitCount
        while a != 0 {
            let da = 63 - a.leadingZeroBitCount
            if da < dm { break }
            a ^= m << UInt64(da - dm)
        }
        return a
    }

    /// a·b mod m, for deg a, deg b < deg m ≤ 62.
    static func mulMod(_ a: UInt64, _ b: UInt64, _ m: UInt64) -> UInt64 {
        let dm = 63 - m.leadingZeroBitCount
        var result: UInt64 = 0
        var bit = 63 - b.leadingZeroBitCount
        while bit >= 0 {
            result <<= 1
            if result >> UInt64(dm) & 1 == 1 { result ^= m }
            if b >> UInt64(bit) & 1 == 1 { result ^= a }
            bit -= 1
        }
        return result
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, mod(a, b)) }
        return a
    }

    /// Ben-Or's test: P of degree d is irreducible iff gcd(P, x^(2^i) − x mod P) = 1 for i = 1 … d/2.
    public var isIrreducible: Bool {
        let d = degree
        guard d >= 1, d <= 62 else { return false }
        var power: UInt64 = 2  // x
        for _ in 1...(d / 2) {
            power = Self.mulMod(power, power, bits)
            if Self.gcd(bits, power ^ 2) != 1 { return false }
        }
        return true
    }

    /// A random irreducible polynomial of degree 53 (restic's rule for new repositories).
    public static func randomIrreducible() -> Polynomial {
        while true {
            let raw = secureRandomBytes(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let candidate = Polynomial((raw & ((1 << 54) - 1)) | (1 << 53) | 1)
            if candidate.isIrreducible { return candidate }
        }
    }
}
