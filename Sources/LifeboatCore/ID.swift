/// A 32-byte identifier: the SHA-256 of a blob's plaintext, or of a stored file's bytes.
///
/// Held as four words so that the in-memory index stays compact and hashing is cheap.
public struct ID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = ID(w0: 0, w1: 0, w2: 0, w3: 0)

    @inlinable public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads 32 bytes in order (big-endian words, so `<` sorts like the hex string).
    @inlinable public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32)
        w0 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        let array = Array(bytes)
        precondition(array.count == 32, "an ID has 32 bytes")
        self = array.withUnsafeBytes { ID(bytes: $0) }
    }

    /// Parses 64 hexadecimal characters; returns nil for anything else.
    public init?(hex: some StringProtocol) {
        var text = String(hex)
        guard let id = text.withUTF8({ ID(hexBytes: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = id
    }

    /// Parses 64 ASCII hex digits in place, without allocating (index and tree decoding).
    public init?(hexBytes p: UnsafeRawBufferPointer) {
        guard p.count == 64 else { return nil }
        // Branch-free: every index and tree names thousands of IDs.
        var invalid: UInt8 = 0
        func word(_ w: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in w * 16..<w * 16 + 16 {
                let c = p[k]
                let digit = c &- UInt8(ascii: "0")
                let letter = (c | 0x20) &- UInt8(ascii: "a")
                let isDigit: UInt8 = digit < 10 ? 1 : 0
                let isLetter: UInt8 = letter < 6 ? 1 : 0
                invalid |= 1 &- (isDigit | isLetter)
                v = v << 4 | UInt64(isDigit == 1 ? digit : letter &+ 10)
            }
            return v
        }
        let w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3)
        guard invalid == 0 else { return nil }
        self.init(w0: w0, w1: w1, w2: w2, w3: w3)
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: w0.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: w1.bigEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: w2.bigEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: w3.bigEndian, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }

    public var hex: String { Hex.encode(bytes) }
    /// The first 8 hex characters, as restic shows snapshot IDs.
    public var short: String { String(hex.prefix(8)) }
    public var description: String { hex }

    @inlinable public static func < (a: ID, b: ID) -> Bool {
        if a.w0 != b.w0 { return a.w0 < b.w0 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        return a.w3 < b.w3
    }

    @inlinable public func hash(into hasher: inout Hasher) {
        // The bytes are already uniformly distributed; one word is enough.
        hasher.combine(w0)
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always) private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
