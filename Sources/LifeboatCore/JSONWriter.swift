/// Writes compact JSON byte-for-byte as Go's `encoding/json` does.
///
/// restic names tree blobs by the SHA-256 of their JSON, so deduplicating trees with
/// restic needs Go's exact bytes: no whitespace, `<>&` and U+2028/U+2029 escaped, control
/// characters as `\u00xx` except `\n \r \t`, invalid UTF-8 as `\ufffd`, byte arrays as
/// padded base64. The caller emits keys in the declared field order; commas are automatic.
///
///     var w = JSONWriter()
///     w.beginObject(); w.key("nodes"); w.beginArray(); w.endArray(); w.endObject()
///     // w.bytes == Array(#"{"nodes":[]}"#.utf8)
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]
    /// True when the next value or key needs a leading comma.
    @usableFromInline var needsComma = false

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: Structure

    @inlinable public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    @inlinable public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    @inlinable public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    @inlinable public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":`. Keys are trusted ASCII field names and are not escaped.
    @inlinable public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes an arbitrary (escaped) key, e.g. of a map.
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Appends the bytes of `text` unchanged: the caller guarantees it is one valid JSON
    /// value (e.g. an already-encoded sub-document).
    public mutating func rawValue(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// Appends a newline (Go's streaming encoder ends each document with one).
    public mutating func newline() { bytes.append(0x0A) }

    @inlinable @inline(__always) mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    // MARK: Scalars

    public mutating func null() { separate(); bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]); needsComma = true }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) } else { bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) }
        needsComma = true
    }

    public mutating func number(_ value: UInt64) {
        separate()
        appendDecimal(value)
        needsComma = true
    }

    public mutating func number(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
        needsComma = true
    }

    public mutating func number(_ value: Int) { number(Int64(value)) }
    public mutating func number(_ value: UInt32) { number(UInt64(value)) }
    public mutating func number(_ value: Int32) { number(Int64(value)) }

    @usableFromInline mutating func appendDecimal(_ value: UInt64) {
        if value < 10 { bytes.append(UInt8(ascii: "0") + UInt8(value)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes ≥ 20 digits
        var v = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            while v > 0 {
                count += 1
                buf[24 - count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(24 - count)...]))
        }
    }

    /// Writes standard padded base64, as Go does for `[]byte`.
    public mutating func base64(_ data: [UInt8]) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: Base64.encode(data).utf8)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Writes 64 lowercase hex digits, as restic writes IDs.
    public mutating func id(_ id: ID) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for word in [id.w0, id.w1, id.w2, id.w3] {
            var shift: UInt64 = 60
            for _ in 0..<16 {
                bytes.append(Self.hexDigits[Int(word >> shift & 0xF)])
                shift &-= 4
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Writes raw bytes as a JSON string; bytes that are not UTF-8 become `\ufffd`.
    public mutating func string(utf8 data: [UInt8]) {
        data.withUnsafeBytes { string(utf8: $0) }
    }

    public mutating func string(utf8 p: UnsafeRawBufferPointer) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var start = 0 // first byte not yet copied
        var i = 0
        while i < p.count {
            let b = p[i]
            if b < 0x80 {
                if Self.safeASCII[Int(b)] { i += 1; continue }
                flush(p, start, i)
                appendASCIIEscape(b)
                i += 1
                start = i
                continue
            }
            if let (scalar, width) = GoUTF8.decode(p, at: i) {
                if scalar == 0x2028 || scalar == 0x2029 {
                    flush(p, start, i)
                    bytes.append(contentsOf: scalar == 0x2028 ? Self.u2028 : Self.u2029)
                    start = i + width
                }
                i += width
            } else {
                flush(p, start, i)
                bytes.append(contentsOf: Self.ufffd)
                i += 1
                start = i
            }
        }
        flush(p, start, p.count)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    @inline(__always) private mutating func flush(_ p: UnsafeRawBufferPointer, _ from: Int, _ to: Int) {
        if to > from { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[from..<to])) }
    }

    private mutating func appendASCIIEscape(_ b: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(b)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            // Go (before 1.22) writes \b and \f as \u0008 and \u000c too.
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(Self.hexDigits[Int(b >> 4)])
            bytes.append(Self.hexDigits[Int(b & 0xF)])
        }
    }

    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private static let u2028: [UInt8] = Array(#"\u2028"#.utf8)
    private static let u2029: [UInt8] = Array(#"\u2029"#.utf8)
    private static let ufffd: [UInt8] = Array(#"\ufffd"#.utf8)

    /// ASCII bytes Go writes unescaped (its `htmlSafeSet`).
    private static let safeASCII: [Bool] = (0..<128).map { b in
        b >= 0x20 && b != 0x22 && b != 0x5C && b != 0x3C && b != 0x3E && b != 0x26
    }
}
