/// Reads JSON as a stream of values without building a tree, for documents that can be
/// large (index files list every blob): the caller walks objects and arrays and takes or
/// skips each value. Far less memory and allocation than `JSONValue`.
public struct JSONPullParser {
    var parser: JSONParser

    /// Runs `body` over `bytes`, then checks that nothing but whitespace follows.
    public static func parse<R>(_ bytes: [UInt8], _ body: (inout JSONPullParser) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { raw in
            var pull = JSONPullParser(parser: JSONParser(raw))
            let result = try body(&pull)
            pull.parser.skipSpace()
            guard pull.parser.i == raw.count else { throw pull.parser.fail("unexpected data after the top-level value") }
            return result
        }
    }

    /// The first byte of the next value: `{`, `[`, `"`, a digit, `-`, `t`, `f` or `n`.
    public mutating func peek() -> UInt8? {
        parser.skipSpace()
        return parser.i < parser.p.count ? parser.p[parser.i] : nil
    }

    /// Consumes a `null` if one comes next.
    public mutating func takeNull() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        _ = try parser.parseValue()
        return true
    }

    /// Walks an object; `member` is called with each key and must consume its value.
    public mutating func object(_ what: @autoclosure () -> String, _ member: (inout JSONPullParser, String) throws -> Void) throws {
        guard peek() == UInt8(ascii: "{") else { throw parser.fail("\(what()) must be an object") }
        parser.i += 1
        if peek() == UInt8(ascii: "}") { parser.i += 1; return }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
            let key = try parser.parseString()
            guard peek() == UInt8(ascii: ":") else { throw parser.fail("expected ':' after object key") }
            parser.i += 1
            try member(&self, key)
            switch peek() {
            case UInt8(ascii: ","): parser.i += 1
            case UInt8(ascii: "}"): parser.i += 1; return
            default: throw parser.fail("expected ',' or '}' in object")
            }
        }
    }

    /// `object` for hot paths: `member` gets each key's UTF-8 bytes, which stay valid only
    /// during the call; a key without escapes (the usual case) is never copied into a String.
    public mutating func object(_ what: @autoclosure () -> String,
                                rawKeys member: (inout JSONPullParser, UnsafeRawBufferPointer) throws -> Void) throws {
        guard peek() == UInt8(ascii: "{") else { throw parser.fail("\(what()) must be an object") }
        parser.i += 1
        if peek() == UInt8(ascii: "}") { parser.i += 1; return }
        let p = parser.p
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
            let start = parser.i + 1
            var end = start
            while end < p.count, p[end] != UInt8(ascii: "\""), p[end] != UInt8(ascii: "\\"), p[end] >= 0x20 { end += 1 }
            if end < p.count, p[end] == UInt8(ascii: "\"") {
                parser.i = end + 1
                guard peek() == UInt8(ascii: ":") else { throw parser.fail("expected ':' after object key") }
                parser.i += 1
                try member(&self, UnsafeRawBufferPointer(rebasing: p[start..<end]))
            } else {
                var key = try parser.parseString()
                guard peek() == UInt8(ascii: ":") else { throw parser.fail("expected ':' after object key") }
                parser.i += 1
                try key.withUTF8 { try member(&self, UnsafeRawBufferPointer($0)) }
            }
            switch peek() {
            case UInt8(ascii: ","): parser.i += 1
            case UInt8(ascii: "}"): parser.i += 1; return
            default: throw parser.fail("expected ',' or '}' in object")
            }
        }
    }

    /// Walks an array; `element` is called once per element and must consume it.
    public mutating func array(_ what: @autoclosure () -> String, _ element: (inout JSONPullParser) throws -> Void) throws {
        guard peek() == UInt8(ascii: "[") else { throw parser.fail("\(what()) must be an array") }
        parser.i += 1
        if peek() == UInt8(ascii: "]") { parser.i += 1; return }
        while true {
            try element(&self)
            switch peek() {
            case UInt8(ascii: ","): parser.i += 1
            case UInt8(ascii: "]"): parser.i += 1; return
            default: throw parser.fail("expected ',' or ']' in array")
            }
        }
    }

    public mutating func string(_ what: @autoclosure () -> String) throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw parser.fail("\(what()) must be a string") }
        return try parser.parseString()
    }

    /// A 64-hex-digit ID string, read without building a String.
    public mutating func id(_ what: @autoclosure () -> String) throws -> ID {
        guard peek() == UInt8(ascii: "\"") else { throw parser.fail("\(what()) must be a string") }
        let p = parser.p
        let start = parser.i + 1
        if start + 65 <= p.count, p[start + 64] == UInt8(ascii: "\""),
           let id = ID(hexBytes: UnsafeRawBufferPointer(rebasing: p[start..<start + 64])) {
            parser.i = start + 65
            return id
        }
        let text = try parser.parseString()
        guard let id = ID(hex: text) else { throw parser.fail("\(what()) is not a valid ID") }
        return id
    }

    /// An RFC 3339 time string, parsed from the bytes without building a String.
    public mutating func timestamp(_ what: @autoclosure () -> String) throws -> Timestamp {
        guard peek() == UInt8(ascii: "\"") else { throw parser.fail("\(what()) must be a time string") }
        let p = parser.p
        let start = parser.i + 1
        var end = start
        while end < p.count, p[end] != UInt8(ascii: "\""), p[end] != UInt8(ascii: "\\") { end += 1 }
        if end < p.count, p[end] == UInt8(ascii: "\""),
           let time = Timestamp.parse(UnsafeRawBufferPointer(rebasing: p[start..<end])) {
            parser.i = end + 1
            return time
        }
        // Escapes are legal JSON, if odd in a time: decode the string first.
        guard let time = Timestamp(rfc3339: try parser.parseString()) else {
            throw parser.fail("\(what()) is not an RFC 3339 time")
        }
        return time
    }

    public mutating func unsigned(_ what: @autoclosure () -> String) throws -> UInt64 {
        guard let first = peek(), first == UInt8(ascii: "-") || first &- UInt8(ascii: "0") < 10 else {
            throw parser.fail("\(what()) must be a number")
        }
        // Fast path: up to 19 plain digits (no overflow), no leading zero, no fraction or
        // exponent; anything else takes the general number parser.
        let p = parser.p, start = parser.i
        var end = start, plain: UInt64 = 0
        while end < p.count, end - start < 19, p[end] &- UInt8(ascii: "0") < 10 {
            plain = plain &* 10 &+ UInt64(p[end] &- UInt8(ascii: "0"))
            end += 1
        }
        if end > start, end < p.count, first != UInt8(ascii: "0") || end == start + 1 {
            let next = p[end]
            if next &- UInt8(ascii: "0") >= 10, next != UInt8(ascii: "."), next != UInt8(ascii: "e"), next != UInt8(ascii: "E") {
                parser.i = end
                return plain
            }
        }
        let value = try parser.parseValue()
        guard case .number(let number) = value else { throw parser.fail("\(what()) must be a number") }
        switch number {
        case .unsigned(let v): return v
        case .signed(let v) where v >= 0: return UInt64(v)
        case .double(let d) where d >= 0 && d < 1.8e19 && d == d.rounded(): return UInt64(d)
        default: throw parser.fail("\(what()) must be a non-negative integer")
        }
    }

    /// Skips the next value, whatever it is.
    public mutating func skip() throws {
        parser.skipSpace()
        _ = try parser.parseValue()
    }
}
