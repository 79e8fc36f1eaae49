import LifeboatCore

/// Go's `strconv.Quote`/`Unquote` without the surrounding quotes, which restic applies to
/// node names so that non-UTF-8 names survive JSON (RESTIC-V2-FORMAT.md §7.5).
public enum GoQuote {
    /// Quotes raw name bytes: invalid UTF-8 bytes as `\xHH`, `"` and `\` escaped, the
    /// C escapes for BEL…CR, other control bytes and DEL as `\xHH`, printable runes as
    /// is, the rest as `\uHHHH` or `\UHHHHHHHH`.
    public static func quote(_ name: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(name.count + 8)
        name.withUnsafeBytes { p in
            var i = 0
            while i < p.count {
                guard let (v, width) = GoUTF8.decode(p, at: i) else {
                    appendHex(p[i], prefix: "x", digits: 2, to: &out)
                    i += 1
                    continue
                }
                let raw = UnsafeRawBufferPointer(rebasing: p[i..<i + width])
                i += width
                if v == 0x22 || v == 0x5C {
                    out.append(UInt8(ascii: "\\")); out.append(UInt8(v))
                } else if isPrint(v) {
                    out.append(contentsOf: raw)
                } else {
                    switch v {
                    case 0x07: out.append(contentsOf: [0x5C, UInt8(ascii: "a")])
                    case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                    case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                    case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                    case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                    case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                    case 0x0B: out.append(contentsOf: [0x5C, UInt8(ascii: "v")])
                    case 0..<0x20, 0x7F: appendHex(v, prefix: "x", digits: 2, to: &out)
                    case 0..<0x10000: appendHex(v, prefix: "u", digits: 4, to: &out)
                    default: appendHex(v, prefix: "U", digits: 8, to: &out)
                    }
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reverses `quote`: handles `\x`, `\u`, `\U`, octal `\NNN`, `\a \b \f \n \r \t \v
    /// \\ \" \'`.
    /// - Throws: `.corrupt` for a malformed escape, an unescaped `"` or a newline.
    public static func unquote(_ text: String) throws -> [UInt8] {
        let s = Array(text.utf8)
        guard s.contains(UInt8(ascii: "\\")) || s.contains(UInt8(ascii: "\"")) || s.contains(0x0A) else { return s }
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var i = 0
        func bad(_ why: String) -> LifeboatError {
            LifeboatError(.corrupt, "cannot unquote node name \"\(text)\": \(why) at byte \(i)")
        }
        func hexValue(_ count: Int) throws -> UInt32 {
            guard i + count <= s.count else { throw bad("truncated escape") }
            var v: UInt32 = 0
            for _ in 0..<count {
                let c = s[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw bad("invalid hex digit")
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "\"") || c == 0x0A { throw bad("unescaped quote or newline") }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            i += 1
            guard i < s.count else { throw bad("dangling backslash") }
            let e = s[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
            case UInt8(ascii: "x"): out.append(UInt8(try hexValue(2)))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let v = try hexValue(e == UInt8(ascii: "u") ? 4 : 8)
                guard v < 0x110000, !(0xD800..<0xE000).contains(v) else { throw bad("invalid code point") }
                GoUTF8.append(v, to: &out)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= s.count else { throw bad("truncated octal escape") }
                var v = UInt32(e - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    let d = s[i] &- UInt8(ascii: "0")
                    guard d < 8 else { throw bad("invalid octal digit") }
                    v = v << 3 | UInt32(d)
                    i += 1
                }
                guard v <= 0xFF else { throw bad("octal escape above 255") }
                out.append(UInt8(v))
            default:
                throw bad("unknown escape")
            }
        }
        return out
    }

    /// Approximates Go's `unicode.IsPrint`: letters, marks, numbers, punctuation,
    /// symbols and the ASCII space.
    static func isPrint(_ v: UInt32) -> Bool {
        if v < 0x80 { return v >= 0x20 && v < 0x7F }
        guard let scalar = Unicode.Scalar(v) else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendHex<T: BinaryInteger>(_ value: T, prefix: Unicode.Scalar, digits: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: prefix))
        let v = UInt32(value)
        for k in stride(from: digits - 1, through: 0, by: -1) {
            out.append(hexDigits[Int(v >> (UInt32(k) * 4) & 0xF)])
        }
    }
}
