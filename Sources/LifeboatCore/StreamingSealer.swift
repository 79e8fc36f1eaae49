internal import COpenSSL

/// Seals one message in pieces: `begin` returns the IV, `update` encrypts each piece in
/// place and feeds the MAC, `finish` returns the tag. The output is byte-identical to
/// `Cipher.seal` of the whole message, without ever holding the whole message.
/// One message at a time; one instance per thread.
public final class StreamingSealer {
    public let key: CryptoKey
    private let ctr: OpaquePointer
    private let ecb: OpaquePointer
    private var mac: OpaquePointer?

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
        if let mac { EVP_MAC_CTX_free(mac) }
    }

    /// Starts a message; returns its random, non-zero IV (the first 16 bytes to store).
    public func begin() -> [UInt8] {
        var iv = secureRandomBytes(16)
        while iv.allSatisfy({ $0 == 0 }) { iv = secureRandomBytes(16) }
        iv.withUnsafeBufferPointer { ivp in
            checkOpenSSL(EVP_EncryptInit_ex2(ctr, nil, nil, ivp.baseAddress, nil), "EVP_EncryptInit_ex2(iv)")
            var polyKey = [UInt8](repeating: 0, count: 32)
            for i in 0..<16 { polyKey[i] = key.macR[i] }
            polyKey.withUnsafeMutableBufferPointer { pk in
                var outLength: Int32 = 0
                checkOpenSSL(EVP_EncryptUpdate(ecb, pk.baseAddress! + 16, &outLength, ivp.baseAddress, 16), "EVP_EncryptUpdate(ecb)")
                if let mac { EVP_MAC_CTX_free(mac) }
                mac = EVP_MAC_CTX_new(poly1305Algorithm)
                checkOpenSSL(EVP_MAC_init(mac, pk.baseAddress, 32, nil), "EVP_MAC_init")
            }
        }
        return iv
    }

    /// Encrypts the next piece of plaintext in place; it becomes ciphertext.
    public func update(_ piece: UnsafeMutableRawBufferPointer) {
        guard piece.count > 0, let mac else { return }
        let p = piece.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        while offset < piece.count {
            let n = min(piece.count - offset, 1 << 30)
            var outLength: Int32 = 0
            checkOpenSSL(EVP_EncryptUpdate(ctr, p + offset, &outLength, p + offset, Int32(n)), "EVP_EncryptUpdate(ctr)")
            offset += n
        }
        checkOpenSSL(EVP_MAC_update(mac, p, piece.count), "EVP_MAC_update")
    }

    /// Ends the message; returns the 16-byte tag to store after the ciphertext.
    public func finish() -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: 16)
        var length = 0
        tag.withUnsafeMutableBufferPointer { t in
            checkOpenSSL(EVP_MAC_final(mac, t.baseAddress, &length, 16), "EVP_MAC_final")
        }
        EVP_MAC_CTX_free(mac)
        mac = nil
        return tag
    }
}
