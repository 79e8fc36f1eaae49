public import LifeboatCore
import CPrefetch
#if canImport(Glibc)
import Glibc
#endif

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
/// Memory is the budget that matters on large repositories, and lookups are on every
/// backup's hot path. The 48-byte entries live directly in one open-addressing table
/// (linear probing) whose size need not be a power of two: the slot is the high half of
/// `w1 · capacity`. Loading an index sizes the table for a load factor of 0.85, so a blob
/// costs about 56 bytes plus its share of the pack list (32 bytes per pack), and a lookup
/// touches one place in memory. Not thread-safe: the owner serializes access.
public struct MasterIndex: Sendable {
    struct Entry: Sendable {
        var id: ID
        /// Pack number in `packs`; the top bit marks tree blobs; `empty` marks a free slot.
        var packAndType: UInt32
        var offset: UInt32
        var length: UInt32
        var uncompressedLength: UInt32
    }

    private static let treeBit: UInt32 = 1 << 31
    private static let empty = UInt32.max
    private static let emptyEntry = Entry(id: .zero, packAndType: empty, offset: 0, length: 0, uncompressedLength: 0)
    /// Load factor for a table sized ahead (`reserve`), and the most it may reach.
    private static let plannedLoad = 0.85
    private static let maximumLoad = 0.92

    private var table: [Entry] = []
    public private(set) var count = 0
    public private(set) var packs: [ID] = []
    /// Blobs arrive pack by pack: remembering the last pack avoids a pack dictionary.
    private var lastPack: (id: ID, number: UInt32)?

    public init(expectedBlobs: Int = 0) {
        reserve(expectedBlobs)
    }

    /// Sizes the table for at least `count` blobs in total.
    public mutating func reserve(_ count: Int) {
        let needed = Int((Double(count) / Self.plannedLoad).rounded(.up)) + 1
        if needed > table.count { rehash(capacity: needed) }
    }

    public mutating func add(_ blob: ID, _ location: BlobLocation) {
        if Double(count + 1) > Double(table.count) * Self.maximumLoad {
            // Grow gently: every doubling would leave half the table empty for a long time.
            rehash(capacity: max(16, table.count + table.count / 6, Int(Double(count + 1) / Self.plannedLoad) + 1))
        }
        let number: UInt32
        if let lastPack, lastPack.id == location.pack {
            number = lastPack.number
        } else {
            number = UInt32(packs.count)
            precondition(number < Self.treeBit - 1, "too many packs for one index")
            packs.append(location.pack)
            lastPack = (location.pack, number)
        }
        insert(Entry(id: blob, packAndType: number | (location.type == .tree ? Self.treeBit : 0), offset: location.offset,
                     length: location.length, uncompressedLength: location.uncompressedLength))
    }

    /// Adds every blob of an index file.
    public mutating func add(_ file: IndexFile) {
        reserve(count + file.packs.reduce(0) { $0 + $1.blobs.count })
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

    /// Whether every blob is in the index: `contains` for many IDs at once, several lookups
    /// in flight (see `forEachPosition`).
    public func containsAll(_ blobs: [ID], type: BlobType) -> Bool {
        var all = true
        blobs.withUnsafeBufferPointer { ids in
            forEachPosition(of: ids, type: type) { _, slot in
                if slot == nil { all = false }
            }
        }
        return all
    }

    /// Looks up many blobs, calling `body(i, slot)` for each in order. A large table misses
    /// the cache on nearly every lookup, so the home slots of the lookups `prefetchDistance`
    /// ahead are prefetched: a prefetch retires at once, and about that many misses are then
    /// in flight instead of one after another.
    func forEachPosition(of ids: UnsafeBufferPointer<ID>, type: BlobType, _ body: (Int, Int?) -> Void) {
        guard !table.isEmpty else {
            for i in ids.indices { body(i, nil) }
            return
        }
        let wantTree = type == .tree
        let distance = Self.prefetchDistance
        table.withUnsafeBufferPointer { t in
            let base = UnsafeRawPointer(t.baseAddress!)
            // A 48-byte entry can straddle two cache lines: fetch both.
            @inline(__always) func prefetch(_ slot: Int) {
                let entry = base + slot * MemoryLayout<Entry>.stride
                lifeboat_prefetch(entry)
                lifeboat_prefetch(entry + (MemoryLayout<Entry>.stride - 1))
            }
            for k in 0..<min(distance, ids.count) { prefetch(home(ids[k])) }
            for i in ids.indices {
                if i + distance < ids.count { prefetch(home(ids[i + distance])) }
                let blob = ids[i]
                var slot = home(blob)
                var found: Int?
                while true {
                    let e = t[slot]
                    if e.packAndType == Self.empty { break }
                    if e.id == blob && (e.packAndType & Self.treeBit != 0) == wantTree { found = slot; break }
                    slot = slot + 1 == t.count ? 0 : slot + 1
                }
                body(i, found)
            }
        }
    }

    /// How many lookups ahead `forEachPosition` prefetches: enough to keep the core's
    /// outstanding-miss slots busy (measured on 10 M blobs: see docs/performance.md).
    static let prefetchDistance = 16

    public func lookup(_ blob: ID, type: BlobType) -> BlobLocation? {
        guard let i = position(of: blob, type: type) else { return nil }
        return location(table[i], type: type)
    }

    /// Every stored copy of a blob (the same blob may sit in several packs).
    public func lookupAll(_ blob: ID, type: BlobType) -> [BlobLocation] {
        guard !table.isEmpty else { return [] }
        var out: [BlobLocation] = []
        var slot = home(blob)
        while table[slot].packAndType != Self.empty {
            let e = table[slot]
            if e.id == blob && (e.packAndType & Self.treeBit != 0) == (type == .tree) { out.append(location(e, type: type)) }
            slot = slot + 1 == table.count ? 0 : slot + 1
        }
        return out
    }

    /// Calls `body` for every entry, in table order.
    public func forEach(_ body: (ID, BlobLocation) throws -> Void) rethrows {
        for e in table where e.packAndType != Self.empty {
            try body(e.id, location(e, type: e.packAndType & Self.treeBit != 0 ? .tree : .data))
        }
    }

    private func location(_ e: Entry, type: BlobType) -> BlobLocation {
        BlobLocation(pack: packs[Int(e.packAndType & ~Self.treeBit)], type: type, offset: e.offset, length: e.length,
                     uncompressedLength: e.uncompressedLength)
    }

    /// The home slot: IDs are uniform, so the high half of `w1 · capacity` spreads them evenly
    /// over any table size. (w1, not w0: tables keyed by an ID prefix elsewhere must not
    /// correlate with this one.)
    @inline(__always) private func home(_ id: ID) -> Int {
        Int(truncatingIfNeeded: id.w1.multipliedFullWidth(by: UInt64(table.count)).high)
    }

    func position(of blob: ID, type: BlobType) -> Int? {
        guard !table.isEmpty else { return nil }
        let wantTree = type == .tree
        return table.withUnsafeBufferPointer { t in
            var slot = home(blob)
            while true {
                let e = t[slot]
                if e.packAndType == Self.empty { return nil }
                if e.id == blob && (e.packAndType & Self.treeBit != 0) == wantTree { return slot }
                slot = slot + 1 == t.count ? 0 : slot + 1
            }
        }
    }

    private mutating func insert(_ entry: Entry) {
        var slot = home(entry.id)
        while table[slot].packAndType != Self.empty { slot = slot + 1 == table.count ? 0 : slot + 1 }
        table[slot] = entry
        count += 1
    }

    private mutating func rehash(capacity: Int) {
        let old = table
        table = [Entry](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: Self.emptyEntry)
            initialized = capacity
        }
        count = 0
        for e in old where e.packAndType != Self.empty { insert(e) }
    }
}

/// Asks for transparent huge pages on a large table before it is first touched: random
/// lookups in a table of hundreds of MiB otherwise miss the TLB on almost every probe.
private func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let huge = 2 << 20
    guard let base = buffer.baseAddress, buffer.count >= 4 * huge else { return }
    let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
    guard end > start else { return }
    let MADV_HUGEPAGE: Int32 = 14
    _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE)
    #endif
}
