public import LifeboatCore
public import LifeboatRepository

public struct RepairIndexReport: Sendable {
    public var packsFromIndex = 0
    public var packsFromHeaders = 0
    /// Packs whose header cannot be read: left in place, not indexed (their blobs are lost
    /// to the index; `repair snapshots` then removes references to them).
    public var unreadable: [(id: ID, message: String)] = []
    /// Index files that could not be read.
    public var damagedIndexFiles: [(id: ID, message: String)] = []
    public var indexFilesWritten = 0
    public var indexFilesRemoved = 0
    /// Index entries whose pack no longer exists.
    public var droppedPacks = 0
    /// With `readAllPacks`: packs whose content no longer matches their name; their intact
    /// blobs were copied to new packs and they left the index (the files stay until prune).
    public var damagedPacks: [ID] = []
    public var salvagedBlobs = 0
    public var lostBlobs: [(pack: ID, blob: ID, type: BlobType)] = []
}

/// Rebuilds the index from the packs: entries of intact index files are reused when the
/// pack's size matches them (or every pack's header is read with `readAllPacks`), all
/// other packs' headers are read. The new index supersedes every old index file, which is
/// removed only after the new one is stored.
public struct IndexRepairer: Sendable {
    public let repository: Repository
    public init(repository: Repository) { self.repository = repository }

    public func repair(readAllPacks: Bool = false, dryRun: Bool = false,
                       progress: (@Sendable (String) -> Void)? = nil) async throws -> RepairIndexReport {
        var report = RepairIndexReport()
        let backend = repository.backend
        let indexIDs = try await backend.list(.index).compactMap { ID(hex: $0.name) }
        var known: [ID: IndexFile.Pack] = [:]
        for id in indexIDs {
            do {
                for pack in try await repository.loadIndexFile(id).packs { known[pack.id] = pack }
            } catch {
                report.damagedIndexFiles.append((id, (error as? LifeboatError)?.message ?? "\(error)"))
            }
        }
        let stored = try await backend.list(.pack).compactMap { e in ID(hex: e.name).map { ($0, e.size) } }
        let storedIDs = Set(stored.map(\.0))
        report.droppedPacks = known.keys.filter { !storedIDs.contains($0) }.count

        var packs: [IndexFile.Pack] = []
        var toRead: [(ID, Int)] = []
        for (id, size) in stored {
            if !readAllPacks, let pack = known[id], Self.expectedSize(pack) == size {
                packs.append(pack)
                report.packsFromIndex += 1
            } else {
                toRead.append((id, size))
            }
        }
        progress?("reading \(toRead.count) pack headers")
        let repository = self.repository
        let read = try await concurrentMap(toRead, limit: max(4, backend.connections * 2)) { item -> Result<IndexFile.Pack, LifeboatError> in
            do {
                return .success(try await Self.readHeader(pack: item.0, size: item.1, repository: repository))
            } catch let error as LifeboatError {
                return .failure(error)
            }
        }
        var damaged: [IndexFile.Pack] = []
        let salvager = PackSalvager(repository: repository)
        for (i, result) in read.enumerated() {
            switch result {
            case .success(let pack):
                // Reading every pack: also verify its content, and salvage it if damaged.
                if readAllPacks, !(try await salvager.isIntact(pack.id)) {
                    damaged.append(pack)
                    report.damagedPacks.append(pack.id)
                    continue
                }
                packs.append(pack)
                report.packsFromHeaders += 1
            case .failure(let error):
                if let pack = known[toRead[i].0] {
                    // The header is damaged but the old index still describes the pack.
                    damaged.append(pack)
                    report.damagedPacks.append(pack.id)
                } else {
                    report.unreadable.append((toRead[i].0, error.message))
                }
            }
        }
        guard !dryRun else { return report }
        if !damaged.isEmpty {
            progress?("salvaging \(damaged.count) damaged packs")
            let salvage = try await salvager.salvage(damaged)
            packs += salvage.packs
            report.salvagedBlobs = salvage.salvaged
            report.lostBlobs = salvage.lost
        }

        packs.sort { $0.id < $1.id }
        var batches: [[IndexFile.Pack]] = [[]]
        var blobs = 0
        for p in packs {
            if blobs >= 50_000 { batches.append([]); blobs = 0 }
            batches[batches.count - 1].append(p)
            blobs += p.blobs.count
        }
        for (i, batch) in batches.enumerated() {
            _ = try await repository.saveUnpacked(.index, json: IndexFile(supersedes: i == 0 ? indexIDs : [], packs: batch).encoded())
            report.indexFilesWritten += 1
        }
        for id in indexIDs {
            try await backend.remove(FileHandle(.index, id))
            report.indexFilesRemoved += 1
        }
        return report
    }

    static func expectedSize(_ pack: IndexFile.Pack) -> Int {
        pack.blobs.reduce(4 + Cipher.overhead) { $0 + Int($1.length) + PackHeader.entrySize(compressed: $1.uncompressedLength != 0) }
    }

    /// Reads only a pack's header (its last bytes), not its blobs.
    static func readHeader(pack: ID, size: Int, repository: Repository) async throws -> IndexFile.Pack {
        let handle = FileHandle(.pack, pack)
        guard size >= 4 + Cipher.overhead else {
            throw LifeboatError(.corrupt, "pack \(pack.short) is \(size) bytes, too short for a header")
        }
        // Most headers are small: read a generous tail at once, a second read if not enough.
        let guess = min(size, 64 << 10)
        var tail = try await repository.backend.load(handle, offset: size - guess, length: guess)
        let length = tail.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: tail.count - 4, as: UInt32.self))) }
        guard length >= Cipher.overhead, length <= size - 4, length <= PackReader.maxHeaderLength else {
            throw LifeboatError(.corrupt, "pack \(pack.short): header length \(length) is invalid for a pack of \(size) bytes")
        }
        if length + 4 > tail.count {
            tail = try await repository.backend.load(handle, offset: size - 4 - length, length: length + 4)
        }
        let sealed = Array(tail[(tail.count - 4 - length)..<(tail.count - 4)])
        let entries: [PackBlobEntry]
        do {
            entries = try PackHeader.decode(Cipher(key: repository.masterKey).open(sealed))
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "pack \(pack.short): header cannot be read: \(error.message)")
        }
        let blobs = entries.map { IndexFile.Blob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length,
                                                 uncompressedLength: $0.uncompressedLength) }
        let pack = IndexFile.Pack(id: pack, blobs: blobs)
        guard expectedSize(pack) == size else {
            throw LifeboatError(.corrupt, "pack \(pack.id.short): header describes \(expectedSize(pack)) bytes but the pack has \(size)")
        }
        return pack
    }
}
