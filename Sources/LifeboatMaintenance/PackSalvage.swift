public import LifeboatCore
public import LifeboatRepository

/// Copies the intact blobs of damaged packs into new packs (restic's `repair packs`), so
/// the index can drop the damaged ones and `repair snapshots` cut only what is really lost.
public struct PackSalvager: Sendable {
    public let repository: Repository
    public init(repository: Repository) { self.repository = repository }

    public struct Result: Sendable {
        /// New packs holding the salvaged blobs.
        public var packs: [IndexFile.Pack] = []
        public var salvaged = 0
        public var lost: [(pack: ID, blob: ID, type: BlobType)] = []
    }

    /// Whether a pack's content still matches its name (read whole).
    public func isIntact(_ pack: ID) async throws -> Bool {
        SHA256.hash(try await repository.backend.load(FileHandle(.pack, pack))) == pack
    }

    /// Salvages `packs` (their entries from the index or their header).
    public func salvage(_ packs: [IndexFile.Pack]) async throws -> Result {
        var result = Result()
        let repository = self.repository
        let saver = BlobSaver(repository: repository, index: MasterIndex())
        let writer = SalvageWriter(BlobWriter(saver: saver))
        let uploads = Task { try await saver.runUploads() }
        do {
            for pack in packs {
                let bytes = (try? await repository.backend.load(FileHandle(.pack, pack.id))) ?? []
                let outcome = try await blockingIO { () -> (Int, [(ID, BlobType)]) in
                    let cipher = Cipher(key: repository.masterKey)
                    let decompressor = ZstdDecompressor()
                    var buffers = BlobCodec.Buffers()
                    var saved = 0
                    var lost: [(ID, BlobType)] = []
                    for blob in pack.blobs {
                        let end = Int(blob.offset) + Int(blob.length)
                        guard end <= bytes.count else { lost.append((blob.id, blob.type)); continue }
                        let location = BlobLocation(pack: pack.id, type: blob.type, offset: blob.offset, length: blob.length,
                                                    uncompressedLength: blob.uncompressedLength)
                        do {
                            try bytes.withUnsafeBytes { raw in
                                try BlobCodec.open(UnsafeRawBufferPointer(rebasing: raw[Int(blob.offset)..<end]), id: blob.id,
                                                   location: location, cipher: cipher, decompressor: decompressor,
                                                   buffers: &buffers) { plain in
                                    _ = try writer.value.save(blob.type, id: blob.id, plaintext: plain)
                                }
                            }
                            saved += 1
                        } catch let error as LifeboatError where error.code == .corrupt {
                            lost.append((blob.id, blob.type))
                        }
                    }
                    return (saved, lost)
                }
                result.salvaged += outcome.0
                result.lost += outcome.1.map { (pack.id, $0.0, $0.1) }
            }
            try await blockingIO { try writer.value.flush() }
            saver.finishInput()
            try await uploads.value
        } catch {
            saver.abandon()
            uploads.cancel()
            throw error
        }
        var byPack: [ID: [IndexFile.Blob]] = [:]
        saver.index.forEach { id, l in
            byPack[l.pack, default: []].append(IndexFile.Blob(id: id, type: l.type, offset: l.offset, length: l.length,
                                                             uncompressedLength: l.uncompressedLength))
        }
        result.packs = byPack.map { IndexFile.Pack(id: $0.key, blobs: $0.value.sorted { $0.offset < $1.offset }) }
        return result
    }
}

private final class SalvageWriter: @unchecked Sendable {
    // Used by one blocking call at a time.
    let value: BlobWriter
    init(_ value: BlobWriter) { self.value = value }
}
