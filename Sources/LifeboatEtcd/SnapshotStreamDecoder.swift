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
        while let newline = rest.firstIndex(of: 0x0A) {
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

    private mutating func handle(_ raw: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var text = raw
        while let last = text.last, last == 0x0D || last == 0x20 { text = UnsafeRawBufferPointer(rebasing: text.dropLast()) }
        if text.isEmpty { return }
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
        try Base64Decoder.decode(blob, into: &decoded)

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

/// Standard padded base64 into a reused buffer (the snapshot path decodes ~44 KiB per message).
enum Base64Decoder {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func decode(_ text: String, into out: inout [UInt8]) throws {
        var text = text
        out.removeAll(keepingCapacity: true)
        let ok = text.withUTF8 { input -> Bool in
            guard input.count % 4 == 0 else { return false }
            var pad = 0
            if input.count >= 4 {
                if input[input.count - 1] == UInt8(ascii: "=") { pad += 1 }
                if input[input.count - 2] == UInt8(ascii: "=") { pad += 1 }
            }
            return table.withUnsafeBufferPointer { t -> Bool in
                var i = 0
                while i < input.count {
                    let last = i + 4 == input.count
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])]
                    let c = last && pad == 2 ? 0 : t[Int(input[i + 2])]
                    let d = last && pad >= 1 ? 0 : t[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { return false }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out.append(UInt8(truncatingIfNeeded: v >> 16))
                    if !last || pad < 2 { out.append(UInt8(truncatingIfNeeded: v >> 8)) }
                    if !last || pad < 1 { out.append(UInt8(truncatingIfNeeded: v)) }
                    i += 4
                }
                return true
            }
        }
        guard ok else { throw LifeboatError(.corrupt, "a snapshot stream message carries invalid base64") }
    }
}
