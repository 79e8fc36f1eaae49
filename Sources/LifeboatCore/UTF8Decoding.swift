/// Decodes one UTF-8 sequence exactly as Go's `utf8.DecodeRune` does.
///
/// Go replaces *each* byte of an invalid sequence on its own (width 1), rejects overlong
/// forms and surrogates, and both Go JSON and `strconv.Quote` rely on that; Swift's own
/// repairing decoder groups bytes differently, so byte-exact writers use this instead.
public enum GoUTF8 {
    /// Returns the scalar value and its width, or nil (meaning: one invalid byte) at `i`.
    @inlinable
    public static func decode(_ p: UnsafeRawBufferPointer, at i: Int) -> (scalar: UInt32, width: Int)? {
        let n = p.count - i
        let b0 = p[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        @inline(__always) func cont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            guard n >= 2, cont(p[i + 1]) else { return nil }
            return (UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2)
        case 0xE0...0xEF:
            guard n >= 3 else { return nil }
            let b1 = p[i + 1], b2 = p[i + 2]
            // E0 needs A0…BF (no overlong), ED needs 80…9F (no surrogates).
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard b1 >= lo, b1 <= hi, cont(b2) else { return nil }
            return (UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F), 3)
        case 0xF0...0xF4:
            guard n >= 4 else { return nil }
            let b1 = p[i + 1], b2 = p[i + 2], b3 = p[i + 3]
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard b1 >= lo, b1 <= hi, cont(b2), cont(b3) else { return nil }
            return (UInt32(b0 & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6 | UInt32(b3 & 0x3F), 4)
        default:
            return nil
        }
    }

    /// Appends the UTF-8 encoding of a scalar value (must be a valid scalar).
    @inlinable
    public static func append(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(v >> 6)); out.append(0x80 | UInt8(v & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(v >> 12)); out.append(0x80 | UInt8(v >> 6 & 0x3F)); out.append(0x80 | UInt8(v & 0x3F))
        default:
            out.append(0xF0 | UInt8(v >> 18)); out.append(0x80 | UInt8(v >> 12 & 0x3F))
            out.append(0x80 | UInt8(v >> 6 & 0x3F)); out.append(0x80 | UInt8(v & 0x3F))
        }
    }
}
