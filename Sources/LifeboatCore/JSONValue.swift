/// A parsed JSON document. Objects keep their members in order (duplicates included);
/// numbers keep integer precision.
public enum JSONValue: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) { self.key = key; self.value = value }
    }

    public enum Number: Sendable, Equatable {
        /// A non-negative integer that fits 64 bits.
        case unsigned(UInt64)
        /// A negative integer that fits 64 bits.
        case signed(Int64)
        /// Anything else (fraction, exponent, or too large).
        case double(Double)
    }

    case object([Member])
    case array([JSONValue])
    case string(String)
    case number(Number)
    case bool(Bool)
    case null

    /// Parses one JSON document; whitespace may surround it, nothing else.
    /// - Throws: `.corrupt` naming the byte offset of the first problem.
    public init(parsing bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try JSONValue.parse($0) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(bytes)
        return try parser.parseDocument()
    }

    // MARK: Access

    /// The value of the last member named `key` (Go's decoder keeps the last duplicate).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    public var isNull: Bool { if case .null = self { true } else { false } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [Member]? { if case .object(let m) = self { m } else { nil } }

    public var uint64Value: UInt64? {
        guard case .number(let n) = self else { return nil }
        switch n {
        case .unsigned(let v): return v
        case .signed: return nil
        case .double(let d): return d >= 0 && d < 18_446_744_073_709_551_616.0 && d == d.rounded() ? UInt64(d) : nil
        }
    }

    public var int64Value: Int64? {
        guard case .number(let n) = self else { return nil }
        switch n {
        case .unsigned(let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
        case .signed(let v): return v
        case .double(let d): return d >= -9_223_372_036_854_775_808.0 && d < 9_223_372_036_854_775_808.0 && d == d.rounded() ? Int64(d) : nil
        }
    }

    public var doubleValue: Double? {
        guard case .number(let n) = self else { return nil }
        switch n {
        case .unsigned(let v): return Double(v)
        case .signed(let v): return Double(v)
        case .double(let d): return d
        }
    }

    /// A short name of the JSON type, for error messages.
    public var kindName: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .bool: "bool"
        case .null: "null"
        }
    }
}

/// Recursive-descent parser over raw bytes; builds Strings only once per JSON string.
struct JSONParser {
    let p: UnsafeRawBufferPointer
    var i = 0
    var depth = 0
    static let maxDepth = 512
    var scratch: [UInt8] = []

    init(_ p: UnsafeRawBufferPointer) { self.p = p }

    mutating func parseDocument() throws -> JSONValue {
        skipSpace()
        let value = try parseValue()
        skipSpace()
        guard i == p.count else { throw fail("unexpected data after the top-level value") }
        return value
    }

    func fail(_ what: String) -> LifeboatError {
        let found = i < p.count ? describe(p[i]) : "end of data"
        return LifeboatError(.corrupt, "invalid JSON at byte \(i): \(what) (found \(found))")
    }

    private func describe(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    @inline(__always) mutating func skipSpace() {
        while i < p.count {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    mutating func parseValue() throws -> JSONValue {
        guard i < p.count else { throw fail("expected a value") }
        switch p[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let matches = i + n <= p.count && word.withUTF8Buffer { w in (0..<n).allSatisfy { p[i + $0] == w[$0] } }
        guard matches else { throw fail("expected '\(word)'") }
        i += n
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        i += 1
        var members: [JSONValue.Member] = []
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(members) }
        while true {
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            i += 1
            skipSpace()
            members.append(.init(key: key, value: try parseValue()))
            skipSpace()
            guard i < p.count else { throw fail("unterminated object") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { i += 1; break }
            throw fail("expected ',' or '}' in object")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        i += 1
        var elements: [JSONValue] = []
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(elements) }
        while true {
            skipSpace()
            elements.append(try parseValue())
            skipSpace()
            guard i < p.count else { throw fail("unterminated array") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "]") { i += 1; break }
            throw fail("expected ',' or ']' in array")
        }
        depth -= 1
        return .array(elements)
    }

    /// Parses a string starting at its opening quote. Invalid UTF-8 is replaced by U+FFFD.
    mutating func parseString() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes, so the bytes are the string.
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                i += 1
                return text
            }
            if b == UInt8(ascii: "\\") { break }
            guard b >= 0x20 else { throw fail("control character in string") }
            i += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[start..<i]))
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") {
                try parseEscape()
                continue
            }
            guard b >= 0x20 else { throw fail("control character in string") }
            scratch.append(b)
            i += 1
        }
        throw fail("unterminated string")
    }

    private mutating func parseEscape() throws {
        i += 1
        guard i < p.count else { throw fail("unterminated escape") }
        let c = p[i]
        i += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(c)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var v = try hex4()
            if v >= 0xD800, v < 0xDC00 {
                // A high surrogate needs a following \uDC00…DFFF; Go writes U+FFFD otherwise.
                if i + 6 <= p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00, low < 0xE000 {
                        v = 0x10000 + (v - 0xD800) << 10 + (low - 0xDC00)
                    } else {
                        i = save
                        v = 0xFFFD
                    }
                } else {
                    v = 0xFFFD
                }
            } else if v >= 0xDC00, v < 0xE000 {
                v = 0xFFFD
            }
            GoUTF8.append(v, to: &scratch)
        default:
            i -= 1
            throw fail("invalid escape character")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= p.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = p[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func parseNumber() throws -> JSONValue.Number {
        let start = i
        let negative = p[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < p.count, p[i] &- UInt8(ascii: "0") < 10 else { throw fail("expected a digit") }
        var magnitude: UInt64 = 0
        var overflow = false
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < p.count, p[i] &- UInt8(ascii: "0") < 10 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(p[i] - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                magnitude = m2
                i += 1
            }
        }
        var isInteger = true
        if i < p.count, p[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < p.count, p[i] &- UInt8(ascii: "0") < 10 else { throw fail("expected a digit after '.'") }
            while i < p.count, p[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, p[i] &- UInt8(ascii: "0") < 10 else { throw fail("expected a digit in exponent") }
            while i < p.count, p[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        }
        if isInteger && !overflow {
            if !negative { return .unsigned(magnitude) }
            if magnitude == 0 { return .unsigned(0) }
            if magnitude <= UInt64(Int64.max) + 1 { return .signed(Int64(truncatingIfNeeded: 0 &- magnitude)) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
        guard let d = Double(text) else { i = start; throw fail("invalid number") }
        return .double(d)
    }
}
