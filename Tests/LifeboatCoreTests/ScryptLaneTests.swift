import Testing
@testable import LifeboatCore

@Suite struct ScryptLaneTests {
    @Test("the SSE2 ROMix gives OpenSSL's scrypt bit for bit, one lane and several", arguments: [
        (16, 1, 1), (1024, 8, 1), (32768, 8, 1), (64, 2, 3), (256, 3, 5), (2, 1, 1), (512, 16, 2),
    ] as [(UInt64, UInt64, UInt64)])
    func matchesOpenSSL(n: UInt64, r: UInt64, p: UInt64) throws {
        var rng = SystemRandomNumberGenerator()
        let password = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let ours = try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p)
        let reference = try Scrypt.openSSLDerive(password, salt, n, r, p, 64, 128 * r * (n + p + 2))
        #expect(ours == reference, "N=\(n) r=\(r) p=\(p)")
    }

    @Test("a table that keeps every 2nd, 4th or 8th row gives the same key", arguments: [
        (1024, 8, 1, 1), (1024, 8, 1, 2), (64, 2, 3, 3), (256, 3, 2, 1), (8, 1, 1, 3), (2, 1, 1, 1),
    ] as [(UInt64, UInt64, UInt64, Int)])
    func reducedTable(n: UInt64, r: UInt64, p: UInt64, shift: Int) throws {
        let password = Array("correct horse".utf8), salt = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let ours = try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p, tableShift: shift)
        let reference = try Scrypt.openSSLDerive(password, salt, n, r, p, 64, 128 * r * (n + p + 2))
        #expect(ours == reference, "N=\(n) r=\(r) p=\(p) shift=\(shift)")
    }

    @Test("RFC 7914 §12, first vector (empty password and salt, N = 16, r = 1, p = 1)")
    func rfcFirstVector() throws {
        let out = try Scrypt.derive(password: [], salt: [], n: 16, r: 1, p: 1)
        #expect(Hex.encode(out) == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906")
    }
}
