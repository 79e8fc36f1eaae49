internal import COpenSSL

/// restic's authenticated encryption: `IV ‖ AES-256-CTR(P) ‖ Poly1305-AES(C)`.
///
/// Holds reusable OpenSSL contexts, so one instance belongs to one thread at a time.
/// Opening checks the MAC before any byte is decrypted.
public final class Cipher {
    public static let overhead = 32
    public let key: CryptoKey
    private let ctr: OpaquePointer
    private let ecb: OpaquePointer

    public init(key: CryptoKey) {
        self.key = key
        ctr = EVP_CIPHER_CTX_new()
        ecb = EVP_CIPHER_CTX_new()
        key.encrypt.withUnsafeBufferPointer { k in
            checkOpenSSL(EVP_EncryptInit_ex2(ctr, aes256CTR, k.baseAddress, nil, nil), "EVP_EncryptInit_ex2(ctr)")
        }
        key.macK.withUnsafeBufferPointer { k in
            checkOpenSSL(EVP_EncryptInit_ex2(ecb, aes128ECB, k.baseAddress, nil, nil), "EVP_EncryptInit_ex2(ecb)")
        }
        checkOpenSSL(EVP_CIPHER_CTX_set_padding(ecb, 0), "EVP_CIPHER_CTX_set_padding")
    }

    deinit {
        EVP_CIPHER_CTX_free(ctr)
        EVP_CIPHER_CTX_free(ecb)
    }

    /// Appends `IV ‖ C ‖ T` for `plaintext` to `output`.
    public func seal(_ plaintext: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        var iv = secureRandomBytes(16)
        while iv.allSatisfy({ $0 == 0 }) { iv = secureRandomBytes(16) }
        let start = output.count
        output.append(contentsOf: iv)
        output.append(contentsOf: repeatElement(0, count: plaintext.count + 16))
        output.withUnsafeMutableBytes { out in
            let ivPtr = UnsafeRawBufferPointer(rebasing: out[start..<start + 16])
            let body = UnsafeMutableRawBufferPointer(rebasing: out[start + 16..<start + 16 + plaintext.count])
            crypt(iv: ivPtr, input: plaintext, output: body)
            let tag = UnsafeMutableRawBufferPointer(rebasing: out[(start + 16 + plaintext.count)...])
            mac(iv: ivPtr, ciphertext: UnsafeRawBufferPointer(body), into: tag)
        }
    }

    /// Seals in place: `buffer` holds 16 spare bytes followed by the plaintext; afterwards
    /// it holds `IV ‖ C ‖ T`. Saves a copy of every blob on the backup path.
    public func sealInPlace(_ buffer: inout [UInt8]) {
        precondition(buffer.count >= 16)
        var iv = secureRandomBytes(16)
        while iv.allSatisfy({ $0 == 0 }) { iv = secureRandomBytes(16) }
        let length = buffer.count - 16
        buffer.append(contentsOf: repeatElement(0, count: 16))
        buffer.withUnsafeMutableBytes { out in
            for i in 0..<16 { out[i] = iv[i] }
            let ivPtr = UnsafeRawBufferPointer(rebasing: out[0..<16])
            let body = UnsafeMutableRawBufferPointer(rebasing: out[16..<16 + length])
            crypt(iv: ivPtr, input: UnsafeRawBufferPointer(body), output: body)
            mac(iv: ivPtr, ciphertext: UnsafeRawBufferPointer(body), into: UnsafeMutableRawBufferPointer(rebasing: out[(16 + length)...]))
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
        guard sealed.count >= Self.overhead else {
            throw LifeboatError(.corrupt, "encrypted data is \(sealed.count) bytes, shorter than the 32-byte overhead")
        }
        let iv = UnsafeRawBufferPointer(rebasing: sealed[0..<16])
        let body = UnsafeRawBufferPointer(rebasing: sealed[16..<sealed.count - 16])
        let tag = UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - 16)...])
        var computed = (UInt64(0), UInt64(0))
        let matches = withUnsafeMutableBytes(of: &computed) { c -> Bool in
            mac(iv: iv, ciphertext: body, into: c)
            return CRYPTO_memcmp(c.baseAddress, tag.baseAddress, 16) == 0
        }
        guard matches else { throw LifeboatError(.corrupt, "ciphertext verification failed (MAC mismatch)") }
        var plaintext = [UInt8](repeating: 0, count: body.count)
        plaintext.withUnsafeMutableBytes { crypt(iv: iv, input: body, output: $0) }
        return plaintext
    }

    public func open(_ sealed: [UInt8]) throws -> [UInt8] { try sealed.withUnsafeBytes { try open($0) } }

    private func crypt(iv: UnsafeRawBufferPointer, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) {
        checkOpenSSL(EVP_EncryptInit_ex2(ctr, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self), nil),
                     "EVP_EncryptInit_ex2(iv)")
        guard input.count > 0 else { return }
        var remaining = input.count
        var offset = 0
        // EVP_EncryptUpdate takes an Int32 length.
        while remaining > 0 {
            let n = min(remaining, 1 << 30)
            var outLength: Int32 = 0
            checkOpenSSL(EVP_EncryptUpdate(ctr, output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                           &outLength, input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                           Int32(n)), "EVP_EncryptUpdate(ctr)")
            offset += n
            remaining -= n
        }
    }

    private func mac(iv: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, into tag: UnsafeMutableRawBufferPointer) {
        var polyKey = [UInt8](repeating: 0, count: 32)
        for i in 0..<16 { polyKey[i] = key.macR[i] }
        polyKey.withUnsafeMutableBufferPointer { pk in
            var outLength: Int32 = 0
            checkOpenSSL(EVP_EncryptUpdate(ecb, pk.baseAddress! + 16, &outLength,
                                           iv.baseAddress!.assumingMemoryBound(to: UInt8.self), 16), "EVP_EncryptUpdate(ecb)")
            let context = EVP_MAC_CTX_new(poly1305Algorithm)
            defer { EVP_MAC_CTX_free(context) }
            checkOpenSSL(EVP_MAC_init(context, pk.baseAddress, 32, nil), "EVP_MAC_init")
            if ciphertext.count > 0 {
                checkOpenSSL(EVP_MAC_update(context, ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), ciphertext.count),
                             "EVP_MAC_update")
            }
            var length = 0
            checkOpenSSL(EVP_MAC_final(context, tag.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, 16), "EVP_MAC_final")
        }
    }
}
