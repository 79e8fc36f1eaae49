public import LifeboatCore

extension Repository {
    /// `loadTree` for dedicated threads (see `threadPoolMap`): reads without task hops, so
    /// many small reads can be in flight when the page cache is cold.
    public func loadTreeBlocking(_ id: ID, index: MasterIndex) throws -> Tree {
        let copies = index.lookupAll(id, type: .tree)
        guard !copies.isEmpty else {
            throw LifeboatError(.notFound, "tree blob \(id.short) is not in the index", hint: "the repository is missing data; run `lifeboat check`")
        }
        var lastError: (any Error)?
        for location in copies {
            do {
                let sealed = try backend.loadBlocking(FileHandle(.pack, location.pack), offset: Int(location.offset), length: Int(location.length))
                let plain = try decoders.use { try BlobCodec.open(sealed, id: id, location: location, cipher: $0.cipher, decompressor: $0.decompressor) }
                do {
                    return try Tree(decoding: plain)
                } catch let error as LifeboatError {
                    throw LifeboatError(.corrupt, "tree \(id.short) is malformed: \(error.message)")
                }
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }
}
