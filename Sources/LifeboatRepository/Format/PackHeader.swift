public import LifeboatCore

/// One entry of a pack header: where a sealed blob lies and what it holds.
public struct PackBlobEntry: Sendable, Equatable {
    public var type: BlobType
    /// Sealed length in the pack (ciphertext plus 32 bytes).
    public var length: UInt32
    /// Plaintext length before compression; 0 = stored uncompressed.
    public var uncompressedLength: UInt32
    public var id: ID
    /// Position in the pack; computed when decoding, ignored when encoding.
    public var offset: UInt32

    public init(type: BlobType, length: UInt32, uncompressedLength: UInt32 = 0, id: ID, offset: UInt32 = 0) {
        self.type = type; self.length = length; self.uncompressedLength = uncompressedLength
        self.id = id; self.offset = offset
    }

    public var isCompressed: Bool { uncompressedLength != 0 }
}

/// The plaintext pack header (RESTIC-V2-FORMAT.md §5): per blob `type ‖ LE32(L) ‖
/// [LE32(U)] ‖ ID`, type 0/1 = data/tree uncompressed (37 bytes), 2/3 = compressed (41).
public enum PackHeader {
    public static func entrySize(compressed: Bool) -> Int { compressed ? 41 : 37 }

    public static func encode(_ entries: [PackBlobEntry]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(entries.count * 41)
        for e in entries {
            let typeByte: UInt8 = (e.type == .data ? 0 : 1) | (e.isCompressed ? 2 : 0)
            out.append(typeByte)
            appendLE32(e.length, to: &out)
            if e.isCompressed { appendLE32(e.uncompressedLength, to: &out) }
            out.append(contentsOf: e.id.bytes)
        }
        return out
    }

    /// Parses entries until the plaintext is used up; offsets are the running sum of lengths.
    /// - Throws: `.corrupt` for an unknown type byte or a truncated entry.
    public static func decode(_ plaintext: [UInt8]) throws -> [PackBlobEntry] {
        try plaintext.withUnsafeBytes { p in
            var entries: [PackBlobEntry] = []
            entries.reserveCapacity(p.count / 37)
            var i = 0
            var offset: UInt64 = 0
            while i < p.count {
                let typeByte = p[i]
                guard typeByte <= 3 else {
                    throw LifeboatError(.corrupt, "pack header entry \(entries.count) at byte \(i) has unknown type \(typeByte)")
                }
                let compressed = typeByte >= 2
                let size = entrySize(compressed: compressed)
                guard i + size <= p.count else {
                    throw LifeboatError(.corrupt, "pack header entry \(entries.count) at byte \(i) is truncated (\(p.count - i) of \(size) bytes)")
                }
                let length = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i + 1, as: UInt32.self))
                let uncompressed = compressed ? UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i + 5, as: UInt32.self)) : 0
                let id = ID(bytes: UnsafeRawBufferPointer(rebasing: p[(i + size - 32)..<(i + size)]))
                guard offset <= UInt64(UInt32.max) else {
                    throw LifeboatError(.corrupt, "pack header describes more than 4 GiB of blobs")
                }
                entries.append(PackBlobEntry(type: typeByte & 1 == 0 ? .data : .tree, length: length,
                                             uncompressedLength: uncompressed, id: id, offset: UInt32(offset)))
                offset += UInt64(length)
                i += size
            }
            return entries
        }
    }

    private static func appendLE32(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8 & 0xFF))
        out.append(UInt8(v >> 16 & 0xFF)); out.append(UInt8(v >> 24))
    }
}
