internal import COpenSSL

/// Seals one message in pieces: `begin` returns the IV, `update` encrypts each piece in
/// place and feeds the MAC, `finish` returns the tag. The output is byte-identical to
/// `Cipher.seal` of the whole message, without ever holding the whole message.
/// One message at a time; one instance per thread.
public final class StreamingSealer {
    public var key: CryptoKey { contexts.key }
    private let contexts: SealingContexts
    private var mac: OpaquePointer?

    public init(key: CryptoKey) {
        contexts = SealingContexts(key: key)
    }

    deinit {
        if let mac { EVP_MAC_CTX_free(mac) }
    }

    /// Starts a message; returns its random, non-zero IV (the first 16 bytes to store).
    public func begin() -> [UInt8] {
        let iv = SealingContexts.randomIV()
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
