public import LifeboatCore
public import LifeboatRepository

public struct PruneOptions: Sendable {
    public enum MaxUnused: Sendable, Equatable {
        /// Percent of the used size that may stay unused.
        case percent(Double)
        case bytes(UInt64)
        case unlimited
    }
    public var maxUnused: MaxUnused = .percent(5)
    public var maxRepackSize: UInt64?
    public var repackUncompressed = false
    public var dryRun = false
    public init() {}

    /// Parses restic's `--max-unused`: `5%`, `unlimited`, or a size like `500M`.
    public static func parseMaxUnused(_ text: String) throws -> MaxUnused {
        if text == "unlimited" { return .unlimited }
        if text.hasSuffix("%"), let p = Double(text.dropLast()), p >= 0, p < 100 { return .percent(p) }
        if let bytes = parseSize(text) { return .bytes(bytes) }
        throw LifeboatError(.invalidArgument, "invalid --max-unused \"\(text)\"",
                            hint: "use a percentage below 100 (5%), a size (500M, 2G) or `unlimited`")
    }

    /// `123`, `10K`, `500M`, `2G`, `1T` (binary units, as restic).
    public static func parseSize(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let units: [Character: UInt64] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30,
                                          "t": 1 << 40, "T": 1 << 40, "b": 1, "B": 1]
        if let unit = units[last] {
            return UInt64(text.dropLast()).map { $0 * unit }
        }
        return UInt64(text)
    }
}

/// What prune found and what it will do.
public struct PrunePlan: Sendable {
    public struct Pack: Sendable {
        public var pack: IndexFile.Pack
        public var size: Int
        public var usedBlobs = 0, unusedBlobs = 0
        public var usedBytes = 0, unusedBytes = 0
        public var uncompressed = false
        public var isTreePack = false
    }

    /// Old index files, all superseded by the new index.
    public var indexFiles: [ID] = []
    public var keep: [Pack] = []
    public var repack: [Pack] = []
    /// Packs whose every blob is unused.
    public var remove: [Pack] = []
    /// Packs in storage that no index names (leftovers of interrupted runs).
    public var unindexed: [(id: ID, size: Int)] = []
    /// Packs the index names that are not stored but hold no used blob: dropped from the index.
    public var missingUnused: [ID] = []
    /// Blobs to copy out of repacked packs (each once).
    public var repackBlobs: Set<BlobKey> = []

    public var totalBlobs = 0, totalBytes: UInt64 = 0
    public var usedBlobs = 0, usedBytes: UInt64 = 0
    public var duplicateBlobs = 0, duplicateBytes: UInt64 = 0
    public var unusedBlobs = 0, unusedBytes: UInt64 = 0

    public var removeBytes: UInt64 { UInt64(remove.reduce(0) { $0 + $1.size } + unindexed.reduce(0) { $0 + $1.size }) }
    public var repackBytes: UInt64 { UInt64(repack.reduce(0) { $0 + $1.size }) }
    public var repackUsedBytes: UInt64 { UInt64(repack.reduce(0) { $0 + $1.usedBytes }) }
    /// Unused bytes left after this prune.
    public var unusedAfter: UInt64 { UInt64(keep.reduce(0) { $0 + $1.unusedBytes }) }
    public var packsAfter: Int { keep.count + (repack.isEmpty ? 0 : max(1, Int(repackUsedBytes >> 24) + 1)) }
    public var nothingToDo: Bool { repack.isEmpty && remove.isEmpty && unindexed.isEmpty && missingUnused.isEmpty }
}

/// Decides which packs to keep, repack and remove, as restic's prune does.
public struct PrunePlanner: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func plan(_ options: PruneOptions, progress: (@Sendable (String) -> Void)? = nil) async throws -> PrunePlan {
        var plan = PrunePlan()
        progress?("loading indexes")
        let backend = repository.backend
        let indexIDs = try await backend.list(.index).compactMap { ID(hex: $0.name) }
        let repository = self.repository
        let files = try await concurrentMap(indexIDs, limit: max(4, backend.connections)) { try await repository.loadIndexFile($0) }
        plan.indexFiles = indexIDs
        var index = MasterIndex()
        index.reserve(files.reduce(0) { $0 + $1.packs.reduce(0) { $0 + $1.blobs.count } })
        for file in files { index.add(file) }

        progress?("listing packs")
        var stored: [ID: Int] = [:]
        for entry in try await backend.list(.pack) { if let id = ID(hex: entry.name) { stored[id] = entry.size } }

        progress?("finding data that is still used")
        let snapshots = try await repository.snapshots()
        let used = try await ReferenceWalker(repository: repository, index: index).referencedBlobs(of: snapshots)
        var missing = 0
        for blob in used where !index.contains(blob.id, type: blob.type) { missing += 1 }
        if missing > 0 {
            throw LifeboatError(.corrupt, "\(missing) blob(s) used by snapshots are not in the index; prune stops without changing anything",
                                hint: "run `lifeboat check`, then `lifeboat repair index` (and `lifeboat repair snapshots` if blobs are lost)")
        }

        // One entry per pack (a pack listed in several index files counts once).
        var packs: [ID: IndexFile.Pack] = [:]
        var packOrder: [ID] = []
        for file in files {
            for pack in file.packs where packs[pack.id] == nil {
                packs[pack.id] = pack
                packOrder.append(pack.id)
            }
        }

        // Each used blob is credited to one copy: the first in a pack that is stored.
        var credited = Set<BlobKey>()
        var analysed: [PrunePlan.Pack] = []
        for id in packOrder {
            let pack = packs[id]!
            guard let size = stored[id] else {
                if pack.blobs.contains(where: { used.contains(BlobKey($0.id, $0.type)) && index.lookupAll($0.id, type: $0.type).allSatisfy { $0.pack == id } }) {
                    throw LifeboatError(.corrupt, "pack \(id.short) is in the index but missing from the repository, and holds data snapshots use",
                                        hint: "run `lifeboat repair index`, then `lifeboat repair snapshots`")
                }
                plan.missingUnused.append(id)
                continue
            }
            var p = PrunePlan.Pack(pack: pack, size: size)
            p.isTreePack = pack.blobs.contains { $0.type == .tree }
            for blob in pack.blobs {
                let key = BlobKey(blob.id, blob.type)
                let bytes = Int(blob.length)
                plan.totalBlobs += 1
                plan.totalBytes += UInt64(bytes)
                if blob.uncompressedLength == 0 { p.uncompressed = true }
                if used.contains(key) && credited.insert(key).inserted {
                    p.usedBlobs += 1; p.usedBytes += bytes
                    plan.usedBlobs += 1; plan.usedBytes += UInt64(bytes)
                } else {
                    if used.contains(key) { plan.duplicateBlobs += 1; plan.duplicateBytes += UInt64(bytes) }
                    else { plan.unusedBlobs += 1; plan.unusedBytes += UInt64(bytes) }
                    p.unusedBlobs += 1; p.unusedBytes += bytes
                }
            }
            analysed.append(p)
        }
        let indexed = Set(packOrder)
        for (id, size) in stored where !indexed.contains(id) { plan.unindexed.append((id, size)) }
        plan.unindexed.sort { $0.id < $1.id }

        // Fully unused packs go; fully used ones stay (unless uncompressed and asked to).
        let compressible = repository.version >= 2 && options.repackUncompressed
        var candidates: [PrunePlan.Pack] = []
        for p in analysed {
            if p.usedBlobs == 0 { plan.remove.append(p) }
            else if compressible && p.uncompressed { plan.repack.append(p) }
            else if p.unusedBlobs == 0 { plan.keep.append(p) }
            else { candidates.append(p) }
        }
        // Repack the most wasteful packs (tree packs first: they are small and walked often)
        // until the unused bytes left are within the limit.
        candidates.sort { a, b in
            if a.isTreePack != b.isTreePack { return a.isTreePack }
            return Double(a.unusedBytes) / Double(max(1, a.size)) > Double(b.unusedBytes) / Double(max(1, b.size))
        }
        let usedAfter = plan.usedBytes
        let limit: UInt64
        switch options.maxUnused {
        case .unlimited: limit = .max
        case .bytes(let b): limit = b
        case .percent(let p): limit = UInt64(Double(usedAfter) * p / (100 - p))
        }
        var unusedLeft = UInt64(candidates.reduce(0) { $0 + $1.unusedBytes })
        var repackSize = plan.repackBytes
        for p in candidates {
            let fitsBudget = options.maxRepackSize.map { repackSize + UInt64(p.size) <= $0 } ?? true
            if unusedLeft > limit && fitsBudget {
                plan.repack.append(p)
                repackSize += UInt64(p.size)
                unusedLeft -= UInt64(p.unusedBytes)
            } else {
                plan.keep.append(p)
            }
        }
        // The blobs to copy: used ones not already credited to a kept pack.
        var kept = Set<BlobKey>()
        for p in plan.keep { for b in p.pack.blobs { kept.insert(BlobKey(b.id, b.type)) } }
        for p in plan.repack {
            for b in p.pack.blobs {
                let key = BlobKey(b.id, b.type)
                if used.contains(key) && !kept.contains(key) { plan.repackBlobs.insert(key) }
            }
        }
        return plan
    }
}
