internal import COpenSSL

/// Key material for restic's sealing scheme: AES-256-CTR plus Poly1305-AES.
public struct CryptoKey: Sendable, Equatable {
    /// 32-byte AES-256 key for CTR mode.
    public var encrypt: [UInt8]
    /// 16-byte AES-128 key that turns each IV into Poly1305's `s`.
    public var macK: [UInt8]
    /// 16-byte Poly1305 `r` (clamped by the primitive).
    public var macR: [UInt8]

    public init(encrypt: [UInt8], macK: [UInt8], macR: [UInt8]) {
        precondition(encrypt.count == 32 && macK.count == 16 && macR.count == 16)
        self.encrypt = encrypt
        self.macK = macK
        self.macR = macR
    }

    /// A fresh random key, with `r` stored clamped as restic 0.14 does.
    public static func random() -> CryptoKey {
        let bytes = secureRandomBytes(64)
        var key = CryptoKey(encrypt: Array(bytes[0..<32]), macK: Array(bytes[32..<48]), macR: Array(bytes[48..<64]))
        key.clampR()
        return key
    }

    /// Splits 64 bytes of scrypt output: `encrypt ‖ mac.k ‖ mac.r`.
    public init(derived bytes: [UInt8]) {
        precondition(bytes.count == 64)
        self.init(encrypt: Array(bytes[0..<32]), macK: Array(bytes[32..<48]), macR: Array(bytes[48..<64]))
    }

    public mutating func clampR() {
        for i in [3, 7, 11, 15] { macR[i] &= 0x0f }
        for i in [4, 8, 12] { macR[i] &= 0xfc }
    }

    public var isValid: Bool {
        encrypt.contains { $0 != 0 } && (macK.contains { $0 != 0 } || macR.contains { $0 != 0 })
    }
}
