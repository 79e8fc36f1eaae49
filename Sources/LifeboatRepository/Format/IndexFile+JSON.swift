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
    /// - Throws: `.corrupt` for invalid JSON, wrong types, unknown blob types, missing IDs.
    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "index")
        var supersedes: [ID] = []
        var packs: [Pack] = []
        if case .array(let oldFormat) = json {
            packs = try oldFormat.map(Self.decodePack)
        } else {
            for (key, value) in try GoJSON.members(json, "index") {
                switch key {
                case "supersedes": supersedes = try GoJSON.ids(value, "index supersedes") ?? []
                case "packs": packs = try (GoJSON.array(value, "index packs") ?? []).map(Self.decodePack)
                default: break
                }
            }
        }
        self.init(supersedes: supersedes, packs: packs)
    }

    private static func decodePack(_ json: JSONValue) throws -> Pack {
        var id: ID?
        var blobs: [Blob] = []
        for (key, value) in try GoJSON.members(json, "index pack") {
            switch key {
            case "id": id = try GoJSON.id(value, "index pack id")
            case "blobs": blobs = try (GoJSON.array(value, "index pack blobs") ?? []).map(decodeBlob)
            default: break
            }
        }
        guard let id else { throw LifeboatError(.corrupt, "index lists a pack without an id") }
        return Pack(id: id, blobs: blobs)
    }

    private static func decodeBlob(_ json: JSONValue) throws -> Blob {
        var id: ID?
        var type: BlobType?
        var offset: UInt32 = 0, length: UInt32 = 0, uncompressed: UInt32 = 0
        for (key, value) in try GoJSON.members(json, "index blob") {
            switch key {
            case "id": id = try GoJSON.id(value, "index blob id")
            case "type":
                let name = try GoJSON.string(value, "index blob type")
                guard let t = BlobType(rawValue: name) else {
                    throw LifeboatError(.corrupt, "index lists a blob of unknown type \"\(name)\"")
                }
                type = t
            case "offset": offset = try GoJSON.uint32(value, "index blob offset")
            case "length": length = try GoJSON.uint32(value, "index blob length")
            case "uncompressed_length": uncompressed = try GoJSON.uint32(value, "index blob uncompressed_length")
            default: break
            }
        }
        guard let id else { throw LifeboatError(.corrupt, "index lists a blob without an id") }
        guard let type else { throw LifeboatError(.corrupt, "index blob \(id.short) has no type") }
        return Blob(id: id, type: type, offset: offset, length: length, uncompressedLength: uncompressed)
    }
}
