import LifeboatCore

/// Field readers with Go `encoding/json` tolerance: `null` or a missing field leaves the
/// zero value, keys match case-insensitively, a wrong type or an out-of-range number is
/// an error (as Go's "cannot unmarshal … into Go struct field").
enum GoJSON {
    /// The members of an object (empty for `null`), each key folded to ASCII lowercase.
    static func members(_ value: JSONValue, _ what: String) throws -> [(key: String, value: JSONValue)] {
        switch value {
        case .null: return []
        case .object(let members): return members.map { (fold($0.key), $0.value) }
        default: throw mismatch(value, "object", what)
        }
    }

    /// Go matches field names case-insensitively; folding only allocates for odd keys.
    @inline(__always) static func fold(_ key: String) -> String {
        key.utf8.contains { $0 >= 0x41 && $0 <= 0x5A } ? key.lowercased() : key
    }

    /// Finds a struct's field from a key's raw bytes the way Go does: the key as written is
    /// matched on its bytes (no String on the common path), any other key case-folded.
    struct FieldTable<Field: RawRepresentable & CaseIterable & Sendable>: Sendable where Field.RawValue == String {
        /// The fields with their names' bytes, by name length.
        private let byLength: [[(field: Field, bytes: [UInt8])]]

        init() {
            var table = [[(field: Field, bytes: [UInt8])]](repeating: [], count: Field.allCases.map(\.rawValue.utf8.count).max()! + 1)
            for field in Field.allCases { table[field.rawValue.utf8.count].append((field, Array(field.rawValue.utf8))) }
            byLength = table
        }

        func field(_ raw: UnsafeRawBufferPointer) -> Field? {
            if raw.count < byLength.count {
                for candidate in byLength[raw.count] where raw.elementsEqual(candidate.bytes) { return candidate.field }
            }
            return Field(rawValue: GoJSON.fold(String(decoding: raw, as: UTF8.self)))
        }
    }

    static func mismatch(_ value: JSONValue, _ expected: String, _ what: String) -> LifeboatError {
        LifeboatError(.corrupt, "cannot decode \(what): expected \(expected), found \(value.kindName)")
    }

    static func string(_ v: JSONValue, _ what: String) throws -> String {
        switch v {
        case .null: return ""
        case .string(let s): return s
        default: throw mismatch(v, "string", what)
        }
    }

    static func bool(_ v: JSONValue, _ what: String) throws -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        default: throw mismatch(v, "bool", what)
        }
    }

    static func uint64(_ v: JSONValue, _ what: String) throws -> UInt64 {
        if v.isNull { return 0 }
        guard let n = v.uint64Value else { throw mismatch(v, "unsigned integer", what) }
        return n
    }

    static func uint32(_ v: JSONValue, _ what: String) throws -> UInt32 {
        let n = try uint64(v, what)
        guard let small = UInt32(exactly: n) else {
            throw LifeboatError(.corrupt, "cannot decode \(what): \(n) does not fit 32 bits")
        }
        return small
    }

    static func int64(_ v: JSONValue, _ what: String) throws -> Int64 {
        if v.isNull { return 0 }
        guard let n = v.int64Value else { throw mismatch(v, "integer", what) }
        return n
    }

    static func time(_ v: JSONValue, _ what: String) throws -> Timestamp {
        if v.isNull { return .goZero }
        guard case .string(let s) = v else { throw mismatch(v, "time string", what) }
        guard let t = Timestamp(rfc3339: s) else {
            throw LifeboatError(.corrupt, "cannot decode \(what): \"\(s)\" is not an RFC 3339 time")
        }
        return t
    }

    static func id(_ v: JSONValue, _ what: String) throws -> ID? {
        if v.isNull { return nil }
        guard case .string(let s) = v else { throw mismatch(v, "ID string", what) }
        guard let id = ID(hex: s) else {
            throw LifeboatError(.corrupt, "cannot decode \(what): \"\(s)\" is not a 64-digit hex ID")
        }
        return id
    }

    static func base64(_ v: JSONValue, _ what: String) throws -> [UInt8] {
        if v.isNull { return [] }
        guard case .string(let s) = v else { throw mismatch(v, "base64 string", what) }
        guard let bytes = Base64.decode(s) else {
            throw LifeboatError(.corrupt, "cannot decode \(what): invalid base64")
        }
        return bytes
    }

    static func array(_ v: JSONValue, _ what: String) throws -> [JSONValue]? {
        switch v {
        case .null: return nil
        case .array(let a): return a
        default: throw mismatch(v, "array", what)
        }
    }

    static func strings(_ v: JSONValue, _ what: String) throws -> [String] {
        try (array(v, what) ?? []).map { try string($0, what) }
    }

    static func parse(_ bytes: [UInt8], _ what: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: bytes)
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "cannot decode \(what): \(error.message)")
        }
    }
}

/// The same Go tolerance for streamed documents (trees): `null` reads as the zero value.
extension JSONPullParser {
    mutating func goString(_ what: @autoclosure () -> String) throws -> String {
        try takeNull() ? "" : try string(what())
    }

    mutating func goUnsigned(_ what: @autoclosure () -> String) throws -> UInt64 {
        try takeNull() ? 0 : try unsigned(what())
    }

    mutating func goUInt32(_ what: @autoclosure () -> String) throws -> UInt32 {
        let n = try goUnsigned(what())
        guard let small = UInt32(exactly: n) else {
            throw LifeboatError(.corrupt, "cannot decode \(what()): \(n) does not fit 32 bits")
        }
        return small
    }

    mutating func goTime(_ what: @autoclosure () -> String) throws -> Timestamp {
        try takeNull() ? .goZero : try timestamp(what())
    }

    mutating func goBase64(_ what: @autoclosure () -> String) throws -> [UInt8] {
        let text = try goString(what())
        guard let bytes = Base64.decode(text) else {
            throw LifeboatError(.corrupt, "cannot decode \(what()): invalid base64")
        }
        return bytes
    }
}
