#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore

/// Turns the body of `POST /v3/maintenance/snapshot` (etcd's JSON gateway) into snapshot bytes.
///
/// The body is one JSON message per line: `{"result":{"remaining_bytes":"N","blob":"<base64>"}}`,
/// 32 KiB of database per message, `remaining_bytes` absent on the last data message, then one
/// message whose blob is the 32-byte SHA-256 trailer. A failing server ends with
/// `{"error":{...}}`. Body pieces of any size are accepted; memory holds one message
/// (at most `maximumMessageSize`), never the snapshot.
public struct SnapshotStreamDecoder {
    /// etcd sends 32 KiB per message (~44 KiB as JSON); anything far larger is not a snapshot stream.
    public static let maximumMessageSize = 4 << 20

    private enum Phase { case data, trailer, done }
    private var phase = Phase.data
    private var line: [UInt8] = []
    private var decoded: [UInt8] = []
    private var expectedDatabaseSize: UInt64?
    public private(set) var databaseBytes: UInt64 = 0
    public private(set) var messages = 0

    public init() {
        line.reserveCapacity(64 << 10)
        decoded.reserveCapacity(48 << 10)
    }

    /// Database size announced by the first message (its remaining_bytes + its blob).
    public var announcedDatabaseSize: UInt64? { expectedDatabaseSize }

    /// Feeds a piece of the HTTP body; snapshot bytes (database, then trailer) go to `emit`.
    public mutating func push(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = bytes
        while let newline = index(of: 0x0A, in: rest) {
            let piece = UnsafeRawBufferPointer(rebasing: rest[rest.startIndex..<newline])
            if line.isEmpty {
                try handle(piece, emit: emit)
            } else {
                try append(piece)
                let complete = line
                line.removeAll(keepingCapacity: true)
                try complete.withUnsafeBytes { try handle($0, emit: emit) }
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[(newline + 1)...])
        }
        try append(rest)
    }

    /// Call after the last body byte; throws unless the stream was complete.
    public mutating func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        if !line.isEmpty {
            let last = line
            line.removeAll()
            try last.withUnsafeBytes { try handle($0, emit: emit) }
        }
        switch phase {
        case .done: return
        case .data:
            let total = expectedDatabaseSize.map { " of \($0)" } ?? ""
            throw LifeboatError(.corrupt, "the snapshot stream ended after \(databaseBytes)\(total) database bytes (\(messages) messages): the connection was cut or etcd stopped",
                                hint: "nothing was saved; check etcd's health and run the backup again")
        case .trailer:
            throw LifeboatError(.corrupt, "the snapshot stream ended before its SHA-256 trailer (\(databaseBytes) database bytes received)",
                                hint: "nothing was saved; run the backup again")
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard line.count + bytes.count <= Self.maximumMessageSize else {
            throw LifeboatError(.corrupt, "a snapshot stream message is larger than \(Self.maximumMessageSize) bytes: this is not etcd's snapshot stream")
        }
        line.append(contentsOf: bytes)
    }

    /// Any message the fast path did not take: errors, escapes, other layouts.
    private mutating func parseGeneral(_ text: UnsafeRawBufferPointer) throws -> UInt64 {
        let message: JSONValue
        do { message = try JSONValue.parse(text) } catch {
            throw LifeboatError(.corrupt, "message \(messages + 1) of the snapshot stream is not JSON", underlying: error)
        }
        messages += 1
        if let error = message["error"], !error.isNull {
            let text = error.stringValue ?? error["message"]?.stringValue ?? "unknown error"
            throw LifeboatError(.backend, "etcd ended the snapshot stream with an error: \(text)",
                                hint: text.contains("auth") || text.contains("permission") || text.contains("token")
                                    ? "this etcd has authentication enabled: pass --user USER:PASSWORD" : "nothing was saved; run the backup again")
        }
        guard let result = message["result"], let blob = result["blob"]?.stringValue else {
            throw LifeboatError(.corrupt, "message \(messages) of the snapshot stream has no result.blob")
        }
        let remaining: UInt64
        switch result["remaining_bytes"] {
        case nil, .null?: remaining = 0
        case .string(let s)?:
            guard let v = UInt64(s) else { throw LifeboatError(.corrupt, "message \(messages) has remaining_bytes \(s)") }
            remaining = v
        case let value?:
            guard let v = value.uint64Value else { throw LifeboatError(.corrupt, "message \(messages) has an invalid remaining_bytes") }
            remaining = v
        }
        var blobText = blob
        try blobText.withUTF8 { try Base64Decoder.decode(UnsafeRawBufferPointer($0), into: &decoded) }
        return remaining

    }

    /// `{"result":{...}}` with a `blob` and an optional `remaining_bytes`, and no backslash
    /// anywhere (base64 and decimal strings never need escapes): the blob's byte range and the count.
    static func fastResult(_ text: UnsafeRawBufferPointer) -> (blob: Range<Int>, remaining: UInt64)? {
        let prefix = Array(#"{"result":{"#.utf8)
        guard text.count > prefix.count, text.starts(with: prefix), index(of: 0x5C, in: text) == nil else { return nil }
        guard let blobKey = find(#""blob":""#, in: text) else { return nil }
        let start = blobKey.upperBound
        guard let end = index(of: 0x22, in: text, from: start) else { return nil }
        var remaining: UInt64 = 0
        if let key = find(#""remaining_bytes":"#, in: text) {
            var i = key.upperBound
            if i < text.count && text[i] == 0x22 { i += 1 }
            var digits = 0
            while i < text.count, text[i] >= 0x30, text[i] <= 0x39 {
                let (times, o1) = remaining.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(text[i] - 0x30))
                if o1 || o2 { return nil }
                remaining = sum
                i += 1
                digits += 1
            }
            if digits == 0 { return nil }
        }
        return (start..<end, remaining)
    }

    private static func find(_ needle: String, in text: UnsafeRawBufferPointer) -> Range<Int>? {
        let pattern = Array(needle.utf8)
        var i = 0
        while i + pattern.count <= text.count {
            guard let first = index(of: pattern[0], in: text, from: i), first + pattern.count <= text.count else { return nil }
            if text[first..<(first + pattern.count)].elementsEqual(pattern) { return first..<(first + pattern.count) }
            i = first + 1
        }
        return nil
    }

    private mutating func handle(_ raw: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var text = raw
        while let last = text.last, last == 0x0D || last == 0x20 { text = UnsafeRawBufferPointer(rebasing: text.dropLast()) }
        if text.isEmpty { return }
        let remaining: UInt64
        if let fast = Self.fastResult(text) {
            // The common message, read without building a JSON tree (profiling: half the CPU).
            remaining = fast.remaining
            try Base64Decoder.decode(UnsafeRawBufferPointer(rebasing: text[fast.blob]), into: &decoded)
            messages += 1
        } else {
            remaining = try parseGeneral(text)
        }

        switch phase {
        case .data:
            let count = UInt64(decoded.count)
            if expectedDatabaseSize == nil { expectedDatabaseSize = count + remaining }
            databaseBytes += count
            guard databaseBytes + remaining == expectedDatabaseSize! else {
                throw LifeboatError(.corrupt, "the snapshot stream is inconsistent: after \(databaseBytes) bytes etcd says \(remaining) remain, but announced \(expectedDatabaseSize!) in all")
            }
            try decoded.withUnsafeBytes { try emit($0) }
            if remaining == 0 { phase = .trailer }
        case .trailer:
            guard decoded.count == SnapshotTrailerVerifier.trailerSize, remaining == 0 else {
                throw LifeboatError(.corrupt, "the snapshot stream's last message holds \(decoded.count) bytes where the 32-byte SHA-256 trailer belongs")
            }
            try decoded.withUnsafeBytes { try emit($0) }
            phase = .done
        case .done:
            throw LifeboatError(.corrupt, "the snapshot stream goes on after its SHA-256 trailer (message \(messages))")
        }
    }
}

/// The first `byte` at or after `from` (memchr: the generic search was the decoder's top cost).
/// Indices are those of `text` (a rebased slice keeps its parent's).
func index(of byte: UInt8, in text: UnsafeRawBufferPointer, from: Int? = nil) -> Int? {
    let start = from ?? text.startIndex
    guard start < text.endIndex, let base = text.baseAddress else { return nil }
    let offset = start - text.startIndex
    guard let hit = memchr(base + offset, Int32(byte), text.count - offset) else { return nil }
    return text.startIndex + (UnsafeRawPointer(hit) - base)
}

/// Standard padded base64 into a reused buffer (the snapshot path decodes ~44 KiB per message).
enum Base64Decoder {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func decode(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        guard input.count % 4 == 0 else { throw invalid }
        var pad = 0
        if input.count >= 4 {
            if input[input.count - 1] == UInt8(ascii: "=") { pad += 1 }
            if input[input.count - 2] == UInt8(ascii: "=") { pad += 1 }
        }
        let size = input.count / 4 * 3 - pad
        if out.count != size { out = [UInt8](repeating: 0, count: size) }
        let ok = table.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o -> Bool in
                var i = 0, j = 0
                var bad: UInt8 = 0
                let whole = pad == 0 ? input.count : input.count - 4
                while i < whole {
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])], c = t[Int(input[i + 2])], d = t[Int(input[i + 3])]
                    bad |= a | b | c | d
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    o[j] = UInt8(truncatingIfNeeded: v >> 16)
                    o[j + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    o[j + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    j += 3
                }
                if pad > 0 {
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])]
                    let c = pad == 2 ? 0 : t[Int(input[i + 2])]
                    bad |= a | b | c
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                    o[j] = UInt8(truncatingIfNeeded: v >> 16)
                    if pad == 1 { o[j + 1] = UInt8(truncatingIfNeeded: v >> 8) }
                }
                return bad & 0xC0 == 0
            }
        }
        guard ok else { throw invalid }
    }

    private static var invalid: LifeboatError { LifeboatError(.corrupt, "a snapshot stream message carries invalid base64") }
}
