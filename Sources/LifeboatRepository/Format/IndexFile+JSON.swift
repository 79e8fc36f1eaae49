import LifeboatCore

/// Index files' JSON (RESTIC-V2-FORMAT.md §7.2), ending with a newline like Go's
/// streaming encoder. Reading also accepts the old format: a bare array of packs.
extension IndexFile {
    public func encoded() -> [UInt8] {
        let blobCount = packs.reduce(0) { $0 + $1.blobs.count }
        var w = JSONWriter(reservingCapacity: 64 + packs.count * 100 + blobCount * 150)
        w.beginObject()
        if !supersedes.isEmpty {
            w.key("supersedes")
            w.beginArray()
            for id in supersedes { w.id(id) }
            w.endArray()
        }
        w.key("packs")
        w.beginArray()
        for pack in packs {
            w.beginObject()
            w.key("id"); w.id(pack.id)
            w.key("blobs")
            w.beginArray()
            for blob in pack.blobs {
                w.beginObject()
                w.key("id"); w.id(blob.id)
                w.key("type"); w.string(blob.type.rawValue)
                w.key("offset"); w.number(blob.offset)
                w.key("length"); w.number(blob.length)
                if blob.uncompressedLength != 0 { w.key("uncompressed_length"); w.number(blob.uncompressedLength) }
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// Decodes an index file (current or old array format); unknown fields are ignored.
    /// Streams over the bytes: an index with a million blobs needs no JSON tree in memory.
    /// - Throws: `.corrupt` for invalid JSON, wrong types, unknown blob types, missing IDs.
    public init(decoding bytes: [UInt8]) throws {
        var supersedes: [ID] = []
        var packs: [Pack] = []
        try JSONPullParser.parse(bytes) { json in
            if json.peek() == UInt8(ascii: "[") {
                try json.array("index") { packs.append(try Self.decodePack(&$0)) }
                return
            }
            try json.object("index") { json, key in
                switch GoJSON.fold(key) {
                case "supersedes":
                    if try json.takeNull() { return }
                    try json.array("index supersedes") { supersedes.append(try $0.id("index supersedes entry")) }
                case "packs":
                    if try json.takeNull() { return }
                    try json.array("index packs") { packs.append(try Self.decodePack(&$0)) }
                default:
                    try json.skip()
                }
            }
        }
        self.init(supersedes: supersedes, packs: packs)
    }

    private static func decodePack(_ json: inout JSONPullParser) throws -> Pack {
        var id: ID?
        var blobs: [Blob] = []
        try json.object("index pack") { json, key in
            switch GoJSON.fold(key) {
            case "id": id = try json.id("index pack id")
            case "blobs":
                if try json.takeNull() { return }
                try json.array("index pack blobs") { blobs.append(try decodeBlob(&$0)) }
            default: try json.skip()
            }
        }
        guard let id else { throw LifeboatError(.corrupt, "index lists a pack without an id") }
        return Pack(id: id, blobs: blobs)
    }

    private static func decodeBlob(_ json: inout JSONPullParser) throws -> Blob {
        var id: ID?
        var type: BlobType?
        var offset: UInt32 = 0, length: UInt32 = 0, uncompressed: UInt32 = 0
        func uint32(_ json: inout JSONPullParser, _ what: String) throws -> UInt32 {
            let v = try json.unsigned(what)
            guard v <= UInt64(UInt32.max) else { throw LifeboatError(.corrupt, "\(what) \(v) is out of range") }
            return UInt32(v)
        }
        try json.object("index blob", rawKeys: { json, raw in
            guard let key = BlobKey.table.field(raw) else { return try json.skip() }
            switch key {
            case .id: id = try json.id("index blob id")
            case .type:
                let name = try json.string("index blob type")
                guard let t = BlobType(rawValue: name) else {
                    throw LifeboatError(.corrupt, "index lists a blob of unknown type \"\(name)\"")
                }
                type = t
            case .offset: offset = try uint32(&json, "index blob offset")
            case .length: length = try uint32(&json, "index blob length")
            case .uncompressedLength: uncompressed = try uint32(&json, "index blob uncompressed_length")
            }
        })
        guard let id else { throw LifeboatError(.corrupt, "index lists a blob without an id") }
        guard let type else { throw LifeboatError(.corrupt, "index blob \(id.short) has no type") }
        return Blob(id: id, type: type, offset: offset, length: length, uncompressedLength: uncompressed)
    }
}

/// The keys of an index entry for one blob.
private enum BlobKey: String, CaseIterable {
    case id, type, offset, length, uncompressedLength = "uncompressed_length"

    static let table = GoJSON.FieldTable<BlobKey>()
}
