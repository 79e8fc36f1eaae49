internal import COpenSSL

/// Seals one message in pieces: `begin` returns the IV, `update` encrypts each piece in
/// place and feeds the MAC, `finish` returns the tag. The output is byte-identical to
/// `Cipher.seal` of the whole message, without ever holding the whole message.
/// One message at a time; one instance per thread.
public final class StreamingSealer {
    public var key: CryptoKey { contexts.key }
    private let contexts: SealingContexts
    private var mac: OpaquePointer?
    /// Random bytes fetched 4 KiB at a time: one `RAND_bytes` (and the `getpid` OpenSSL
    /// makes for fork safety) per 256 IVs instead of per blob.
    private var randomPool: [UInt8] = []
    private var randomUsed = 0

    public init(key: CryptoKey) {
        contexts = SealingContexts(key: key)
    }

    deinit {
        if let mac { EVP_MAC_CTX_free(mac) }
    }

    /// Starts a message; returns its random, non-zero IV (the first 16 bytes to store).
    public func begin() -> [UInt8] {
        var iv: [UInt8]
        repeat {
            if randomUsed == randomPool.count {
                randomPool = secureRandomBytes(4096)
                randomUsed = 0
            }
            iv = Array(randomPool[randomUsed..<randomUsed + 16])
            randomUsed += 16
        } while iv.allSatisfy { $0 == 0 }  // restic refuses an all-zero IV
        iv.withUnsafeBytes { ivp in
            contexts.startKeystream(iv: ivp)
            if let mac { EVP_MAC_CTX_free(mac) }
            mac = contexts.startMAC(iv: ivp)
        }
        return iv
    }

    /// Encrypts the next piece of plaintext in place; it becomes ciphertext.
    public func update(_ piece: UnsafeMutableRawBufferPointer) {
        guard piece.count > 0, let mac else { return }
        contexts.crypt(UnsafeRawBufferPointer(piece), into: piece)
        macUpdate(mac, UnsafeRawBufferPointer(piece))
    }

    /// Ends the message; returns the 16-byte tag to store after the ciphertext.
    public func finish() -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: 16)
        guard let mac else { preconditionFailure("finish without begin") }
        tag.withUnsafeMutableBytes { macFinish(mac, into: $0) }
        self.mac = nil
        return tag
    }
}
