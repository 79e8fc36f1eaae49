public import LifeboatCore

public enum BlobType: String, Sendable, Hashable {
    case data, tree
}

/// The content of one `index/<ID>` file: whole packs with every blob they hold.
public struct IndexFile: Sendable, Equatable {
    public struct Blob: Sendable, Equatable {
        public var id: ID
        public var type: BlobType
        public var offset: UInt32
        /// Sealed length in the pack.
        public var length: UInt32
        /// Plaintext length if the blob is compressed, else 0.
        public var uncompressedLength: UInt32
        public init(id: ID, type: BlobType, offset: UInt32, length: UInt32, uncompressedLength: UInt32) {
            self.id = id; self.type = type; self.offset = offset; self.length = length
            self.uncompressedLength = uncompressedLength
        }
    }

    public struct Pack: Sendable, Equatable {
        public var id: ID
        public var blobs: [Blob]
        public init(id: ID, blobs: [Blob]) { self.id = id; self.blobs = blobs }
    }

    public var supersedes: [ID]
    public var packs: [Pack]

    public init(supersedes: [ID] = [], packs: [Pack] = []) {
        self.supersedes = supersedes
        self.packs = packs
    }
}
