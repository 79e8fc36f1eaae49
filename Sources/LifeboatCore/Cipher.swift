internal import COpenSSL

/// restic's authenticated encryption: `IV ‖ AES-256-CTR(P) ‖ Poly1305-AES(C)`.
///
/// Holds reusable OpenSSL contexts, so one instance belongs to one thread at a time.
/// Opening checks the MAC before any byte is decrypted.
public final class Cipher {
    public static let overhead = 32
    public var key: CryptoKey { contexts.key }
    private let contexts: SealingContexts

    public init(key: CryptoKey) {
        contexts = SealingContexts(key: key)
    }

    /// Appends `IV ‖ C ‖ T` for `plaintext` to `output`.
    public func seal(_ plaintext: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let iv = SealingContexts.randomIV()
        let start = output.count
        output.append(contentsOf: iv)
        output.append(contentsOf: repeatElement(0, count: plaintext.count + 16))
        output.withUnsafeMutableBytes { out in
            let ivPtr = UnsafeRawBufferPointer(rebasing: out[start..<start + 16])
            let body = UnsafeMutableRawBufferPointer(rebasing: out[start + 16..<start + 16 + plaintext.count])
            contexts.startKeystream(iv: ivPtr)
            contexts.crypt(plaintext, into: body)
            let mac = contexts.startMAC(iv: ivPtr)
            macUpdate(mac, UnsafeRawBufferPointer(body))
            macFinish(mac, into: UnsafeMutableRawBufferPointer(rebasing: out[(start + 16 + plaintext.count)...]))
        }
    }

    /// Seals in place: `buffer` holds 16 spare bytes followed by the plaintext; afterwards
    /// it holds `IV ‖ C ‖ T`.
    public func sealInPlace(_ buffer: inout [UInt8]) {
        precondition(buffer.count >= 16)
        let iv = SealingContexts.randomIV()
        let length = buffer.count - 16
        buffer.append(contentsOf: repeatElement(0, count: 16))
        buffer.withUnsafeMutableBytes { out in
            for i in 0..<16 { out[i] = iv[i] }
            let ivPtr = UnsafeRawBufferPointer(rebasing: out[0..<16])
            let body = UnsafeMutableRawBufferPointer(rebasing: out[16..<16 + length])
            contexts.startKeystream(iv: ivPtr)
            contexts.crypt(UnsafeRawBufferPointer(body), into: body)
            let mac = contexts.startMAC(iv: ivPtr)
            macUpdate(mac, UnsafeRawBufferPointer(body))
            macFinish(mac, into: UnsafeMutableRawBufferPointer(rebasing: out[(16 + length)...]))
        }
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(plaintext.count + Self.overhead)
        plaintext.withUnsafeBytes { seal($0, appendingTo: &out) }
        return out
    }

    /// Verifies the MAC of `sealed`, then decrypts it.
    /// - Throws: `.corrupt` when the data is too short or the MAC does not match.
    public func open(_ sealed: UnsafeRawBufferPointer) throws -> [UInt8] {
        var plaintext: [UInt8] = []
        _ = try open(sealed, into: &plaintext)  // an empty buffer grows to exactly the plaintext
        return plaintext
    }

    public func open(_ sealed: [UInt8]) throws -> [UInt8] { try sealed.withUnsafeBytes { try open($0) } }

    /// Like `open`, but decrypts where the ciphertext is (AES-CTR allows it), after the MAC
    /// matched: no buffer for the plaintext.
    /// - Returns: the plaintext, the part of `sealed` between the IV and the MAC.
    public func open(inPlace sealed: UnsafeMutableRawBufferPointer) throws -> UnsafeMutableRawBufferPointer {
        let body = UnsafeMutableRawBufferPointer(rebasing: sealed[try verifiedBody(UnsafeRawBufferPointer(sealed))])
        contexts.crypt(UnsafeRawBufferPointer(body), into: body)
        return body
    }

    /// Like `open`, but decrypts into `buffer`, reusing its storage (it only grows).
    /// - Returns: the plaintext length; the plaintext is `buffer[0..<length]`.
    public func open(_ sealed: UnsafeRawBufferPointer, into buffer: inout [UInt8]) throws -> Int {
        let body = UnsafeRawBufferPointer(rebasing: sealed[try verifiedBody(sealed)])
        if buffer.count < body.count { buffer.append(contentsOf: repeatElement(0, count: body.count - buffer.count)) }
        buffer.withUnsafeMutableBytes { out in
            contexts.crypt(body, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<body.count]))
        }
        return body.count
    }

    /// Checks the MAC of `IV ‖ ciphertext ‖ MAC` and readies the keystream for its IV.
    /// - Returns: where the ciphertext lies in `sealed`.
    private func verifiedBody(_ sealed: UnsafeRawBufferPointer) throws -> Range<Int> {
        guard sealed.count >= Self.overhead else {
            throw LifeboatError(.corrupt, "encrypted data is \(sealed.count) bytes, shorter than the 32-byte overhead")
        }
        let iv = UnsafeRawBufferPointer(rebasing: sealed[0..<16])
        let body = UnsafeRawBufferPointer(rebasing: sealed[16..<sealed.count - 16])
        let tag = UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - 16)...])
        var computed = (UInt64(0), UInt64(0))
        let matches = withUnsafeMutableBytes(of: &computed) { c -> Bool in
            let mac = contexts.startMAC(iv: iv)
            macUpdate(mac, body)
            macFinish(mac, into: c)
            return CRYPTO_memcmp(c.baseAddress, tag.baseAddress, 16) == 0
        }
        guard matches else { throw LifeboatError(.corrupt, "ciphertext verification failed (MAC mismatch)") }
        contexts.startKeystream(iv: iv)
        return 16..<sealed.count - 16
    }
}
