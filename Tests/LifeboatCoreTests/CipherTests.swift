import Testing
import LifeboatCore

@Suite struct CipherTests {
    // The config file of shared/testdata/restic/restic-v2-repo (RESTIC-V2-FORMAT.md §13).
    static let configHex = """
        d9ce22c1cd75ff22f4df47e64ce96574ed60ca6b358828ed49ea992f096b23a47db9481c5226f998a2552f0e\
        828b93ff10a3c46b64b0eca40394200bca4ab1014603d5fc6911f39d28f965d4de52d116ddd5edeb62ccb3b4\
        b4196cf9c4f907943d715d2ca9bde5fcb122c65676b4afc85fae01882e789a2dd13001f6a15d42337b919f94\
        e70f7717117414d77c1816c57265852adac445dd5ad72c
        """
    static let masterKey = CryptoKey(
        encrypt: base64("954yg+mKmfCELKj9/KCGeRN6cLmB3qSgZ6aMpHZCLp0="),
        macK: base64("uXkYmPSmJQ3JdBOjpK4jWA=="),
        macR: base64("Bs44AyhJKAIMlRMGQP4EBw=="))

    @Test func opensResticConfig() throws {
        let sealed = try #require(Hex.decode(Self.configHex))
        let plain = try Cipher(key: Self.masterKey).open(sealed)
        #expect(String(decoding: plain, as: UTF8.self) ==
            #"{"version":2,"id":"ec1d8d7f58721ec92f8481add3581e6686f38fb3bbd4bcd1452384765355d3b9","chunker_polynomial":"2e40c93f1b05e1"}"#)
    }

    @Test func rejectsFlippedByte() throws {
        var sealed = try #require(Hex.decode(Self.configHex))
        sealed[40] ^= 0x01
        #expect(throws: LifeboatError.self) { try Cipher(key: Self.masterKey).open(sealed) }
    }

    @Test func opensInPlaceAfterTheMACMatches() throws {
        var sealed = try #require(Hex.decode(Self.configHex))
        let expected = try Cipher(key: Self.masterKey).open(sealed)
        let plain = try sealed.withUnsafeMutableBytes { Array(try Cipher(key: Self.masterKey).open(inPlace: $0)) }
        #expect(plain == expected)
        #expect(Array(sealed[16..<sealed.count - 16]) == expected, "the plaintext replaces the ciphertext")

        var tampered = try #require(Hex.decode(Self.configHex))
        tampered[tampered.count - 1] ^= 0x80
        let before = tampered
        #expect(throws: LifeboatError.self) { try tampered.withUnsafeMutableBytes { _ = try Cipher(key: Self.masterKey).open(inPlace: $0) } }
        #expect(tampered == before, "nothing is decrypted when the MAC does not match")
    }

    @Test(arguments: [0, 1, 15, 16, 17, 1000, 1 << 20])
    func sealOpenRoundTrip(size: Int) throws {
        let key = CryptoKey.random()
        let cipher = Cipher(key: key)
        let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let sealed = cipher.seal(plain)
        #expect(sealed.count == size + 32)
        #expect(try cipher.open(sealed) == plain)
        #expect(try Cipher(key: key).open(sealed) == plain)
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let h = SHA256()
        h.update(Array("a".utf8)); h.update(Array("bc".utf8))
        #expect(h.finalize().hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func scryptRFC7914Vector() throws {
        // RFC 7914 §12, second vector (p = 16: the threaded lanes).
        let out = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16)
        #expect(Hex.encode(out).hasPrefix("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"))
    }

    @Test func scryptParallelLanesMatchOpenSSL() throws {
        // The threaded lanes (p > 1) must give OpenSSL's single-threaded answer bit for bit.
        var rng = SystemRandomNumberGenerator()
        for (n, r, p) in [(16, 1, 2), (64, 2, 3), (1024, 8, 5), (256, 3, 7)] as [(UInt64, UInt64, UInt64)] {
            let password = (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let threaded = try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p, threads: 2)
            let serial = try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p, threads: 1)
            #expect(threaded == serial, "N=\(n) r=\(r) p=\(p)")
        }
    }

    @Test func scryptRefusesMemoryBomb() {
        #expect(throws: LifeboatError.self) {
            try Scrypt.derive(password: [1], salt: [2], n: 1 << 40, r: 8, p: 1)
        }
    }

    @Test func zstdRoundTrip() throws {
        let text = Array(String(repeating: "lifeboat restores clusters. ", count: 5000).utf8)
        let frame = ZstdCompressor().compress(text)
        #expect(frame.count < text.count / 10)
        let d = ZstdDecompressor()
        #expect(try frame.withUnsafeBytes { try d.decompress($0, expectedSize: text.count) } == text)
        #expect(try frame.withUnsafeBytes { try d.decompress($0) } == text)
        #expect(throws: LifeboatError.self) { try frame.withUnsafeBytes { try d.decompress($0, expectedSize: text.count + 1) } }
    }
}

func base64(_ s: String) -> [UInt8] { Base64.decode(s)! }

@Suite struct PolynomialTests {
    @Test func resticFixturePolynomialIsIrreducible() throws {
        let p = try #require(Polynomial(hex: "2e40c93f1b05e1"))
        #expect(p.degree == 53)
        #expect(p.isIrreducible)
    }

    @Test func reducibleIsRejected() {
        // (x^2 + x + 1)^2 = x^4 + x^2 + 1, and x^53 + 1 is divisible by x + 1.
        #expect(!Polynomial(0b10101).isIrreducible)
        #expect(!Polynomial(1 << 53 | 1).isIrreducible)
        #expect(Polynomial(0b111).isIrreducible)
    }

    @Test func randomIsDegree53AndIrreducible() {
        let p = Polynomial.randomIrreducible()
        #expect(p.degree == 53)
        #expect(p.isIrreducible)
        #expect(p.description.count == 14)
    }
}
