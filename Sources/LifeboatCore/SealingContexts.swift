internal import COpenSSL

/// The OpenSSL contexts behind restic's sealing scheme, shared by `Cipher` (whole messages)
/// and `StreamingSealer` (messages in pieces): AES-256-CTR keyed with `encrypt`, and the
/// AES-128 block that turns an IV into Poly1305's `s`. One instance per thread.
final class SealingContexts {
    let key: CryptoKey
    private let ctr: OpaquePointer
    private let ecb: OpaquePointer

    init(key: CryptoKey) {
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

    /// A random IV; restic refuses an all-zero one.
    static func randomIV() -> [UInt8] {
        var iv = secureRandomBytes(16)
        while iv.allSatisfy({ $0 == 0 }) { iv = secureRandomBytes(16) }
        return iv
    }

    /// Starts the CTR keystream at `iv` (the whole IV is the first counter block).
    func startKeystream(iv: UnsafeRawBufferPointer) {
        checkOpenSSL(EVP_EncryptInit_ex2(ctr, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self), nil),
                     "EVP_EncryptInit_ex2(iv)")
    }

    /// XORs the next keystream bytes into `output` (`input` and `output` may be the same).
    func crypt(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < input.count {
            let n = min(input.count - offset, 1 << 30)  // EVP_EncryptUpdate takes an Int32 length
            var outLength: Int32 = 0
            checkOpenSSL(EVP_EncryptUpdate(ctr, output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                           &outLength, input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                           Int32(n)), "EVP_EncryptUpdate(ctr)")
            offset += n
        }
    }

    /// A Poly1305 context keyed for the message with this IV: `r ‖ AES-128(k, IV)`.
    /// The caller frees it with `EVP_MAC_CTX_free`.
    func startMAC(iv: UnsafeRawBufferPointer) -> OpaquePointer {
        var polyKey = [UInt8](repeating: 0, count: 32)
        for i in 0..<16 { polyKey[i] = key.macR[i] }
        return polyKey.withUnsafeMutableBufferPointer { pk in
            var outLength: Int32 = 0
            checkOpenSSL(EVP_EncryptUpdate(ecb, pk.baseAddress! + 16, &outLength,
                                           iv.baseAddress!.assumingMemoryBound(to: UInt8.self), 16), "EVP_EncryptUpdate(ecb)")
            let context = EVP_MAC_CTX_new(poly1305Algorithm)!
            checkOpenSSL(EVP_MAC_init(context, pk.baseAddress, 32, nil), "EVP_MAC_init")
            return context
        }
    }
}

func macUpdate(_ context: OpaquePointer, _ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    checkOpenSSL(EVP_MAC_update(context, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count), "EVP_MAC_update")
}

/// Writes the tag into `tag` (16 bytes) and frees the context.
func macFinish(_ context: OpaquePointer, into tag: UnsafeMutableRawBufferPointer) {
    var length = 0
    checkOpenSSL(EVP_MAC_final(context, tag.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, 16), "EVP_MAC_final")
    EVP_MAC_CTX_free(context)
}
