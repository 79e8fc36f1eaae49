public import LifeboatCore

/// Where a blob is stored.
public struct BlobLocation: Sendable, Equatable {
    public var pack: ID
    public var type: BlobType
    public var offset: UInt32
    /// Sealed length in the pack.
    public var length: UInt32
    /// Plaintext length when compressed, 0 when stored uncompressed.
    public var uncompressedLength: UInt32

    public init(pack: ID, type: BlobType, offset: UInt32, length: UInt32, uncompressedLength: UInt32) {
        self.pack = pack; self.type = type; self.offset = offset; self.length = length
        self.uncompressedLength = uncompressedLength
    }

    /// The blob's plaintext length.
    public var plaintextLength: Int {
        uncompressedLength != 0 ? Int(uncompressedLength) : Int(length) - Cipher.overhead
    }
}

/// The in-memory union of all index files: blob (type, ID) → location.
///
/// Memory is the budget that matters on large repositories: entries live in one dense array
/// of 48-byte records, and an open-addressing table of 32-bit positions finds them (load
/// factor 0.25–0.5), so a blob costs 56–64 bytes. Pack IDs are stored once and referenced
/// by number. Not thread-safe: the owner serializes access.
public struct MasterIndex: Sendable {
    struct Entry: Sendable {
        var id: ID
        /// Pack number in `packs`; the top bit marks tree blobs.
        var packAndType: UInt32
        var offset: UInt32
        var length: UInt32
        var uncompressedLength: UInt32
    }

    var entries: [Entry] = []
    /// 0 = empty slot, otherwise entry position + 1.
    var slots: [UInt32] = []
    var mask = 0
    public private(set) var packs: [ID] = []
    private var packNumbers: [ID: UInt32] = [:]

    private static let treeBit: UInt32 = 1 << 31

    public init(expectedBlobs: Int = 0) {
        reserve(expectedBlobs)
    }

    public var count: Int { entries.count }

    /// Grows storage for at least `count` blobs in total.
    public mutating func reserve(_ count: Int) {
        entries.reserveCapacity(count)
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        if capacity > slots.count { rehash(capacity: capacity) }
    }

    public mutating func add(_ blob: ID, _ location: BlobLocation) {
        if (entries.count + 1) * 2 > slots.count { rehash(capacity: max(16, slots.count * 2)) }
        let number = packNumber(location.pack)
        let entry = Entry(id: blob, packAndType: number | (location.type == .tree ? Self.treeBit : 0),
                          offset: location.offset, length: location.length, uncompressedLength: location.uncompressedLength)
        entries.append(entry)
        insertSlot(for: entries.count - 1)
    }

    /// Adds every blob of an index file.
    public mutating func add(_ file: IndexFile) {
        reserve(entries.count + file.packs.reduce(0) { $0 + $1.blobs.count })
        for pack in file.packs {
            for blob in pack.blobs {
                add(blob.id, BlobLocation(pack: pack.id, type: blob.type, offset: blob.offset, length: blob.length,
                                          uncompressedLength: blob.uncompressedLength))
            }
        }
    }

    public func contains(_ blob: ID, type: BlobType) -> Bool {
        position(of: blob, type: type) != nil
    }

    public func lookup(_ blob: ID, type: BlobType) -> BlobLocation? {
        guard let i = position(of: blob, type: type) else { return nil }
        let e = entries[i]
        return BlobLocation(pack: packs[Int(e.packAndType & ~Self.treeBit)], type: type, offset: e.offset,
                            length: e.length, uncompressedLength: e.uncompressedLength)
    }

    /// Every stored copy of a blob (the same blob may sit in several packs).
    public func lookupAll(_ blob: ID, type: BlobType) -> [BlobLocation] {
        guard !slots.isEmpty else { return [] }
        var out: [BlobLocation] = []
        var slot = Int(truncatingIfNeeded: blob.w1) & mask
        while slots[slot] != 0 {
            let e = entries[Int(slots[slot] - 1)]
            if e.id == blob && (e.packAndType & Self.treeBit != 0) == (type == .tree) {
                out.append(BlobLocation(pack: packs[Int(e.packAndType & ~Self.treeBit)], type: type, offset: e.offset,
                                        length: e.length, uncompressedLength: e.uncompressedLength))
            }
            slot = (slot + 1) & mask
        }
        return out
    }

    /// Calls `body` for every entry, in insertion order.
    public func forEach(_ body: (ID, BlobLocation) throws -> Void) rethrows {
        for e in entries {
            let type: BlobType = e.packAndType & Self.treeBit != 0 ? .tree : .data
            try body(e.id, BlobLocation(pack: packs[Int(e.packAndType & ~Self.treeBit)], type: type, offset: e.offset,
                                        length: e.length, uncompressedLength: e.uncompressedLength))
        }
    }

    func position(of blob: ID, type: BlobType) -> Int? {
        guard !slots.isEmpty else { return nil }
        let wantTree = type == .tree
        // w1, not w0: tables sharded by a prefix elsewhere must not correlate with this one.
        var slot = Int(truncatingIfNeeded: blob.w1) & mask
        while true {
            let s = slots[slot]
            if s == 0 { return nil }
            let e = entries[Int(s - 1)]
            if e.id == blob && (e.packAndType & (1 << 31) != 0) == wantTree { return Int(s - 1) }
            slot = (slot + 1) & mask
        }
    }

    private mutating func packNumber(_ pack: ID) -> UInt32 {
        if let n = packNumbers[pack] { return n }
        let n = UInt32(packs.count)
        precondition(n < Self.treeBit, "too many packs for one index")
        packs.append(pack)
        packNumbers[pack] = n
        return n
    }

    private mutating func insertSlot(for position: Int) {
        var slot = Int(truncatingIfNeeded: entries[position].id.w1) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(position + 1)
    }

    private mutating func rehash(capacity: Int) {
        slots = [UInt32](repeating: 0, count: capacity)
        mask = capacity - 1
        for i in entries.indices { insertSlot(for: i) }
    }
}
