public import LifeboatCore

/// The plaintext encoding of index, snapshot and lock files (RESTIC-V2-FORMAT.md §6.3):
/// raw JSON in v1; `0x02 ‖ zstd(JSON)` in v2, where raw JSON is still accepted.
public enum UnpackedFile {
    /// Marks a zstd-compressed document in a v2 repository.
    public static let compressedMarker: UInt8 = 0x02

    public static func encode(json: [UInt8], repositoryVersion: Int, compressor: ZstdCompressor) -> [UInt8] {
        guard repositoryVersion >= 2 else { return json }
        let compressed = compressor.compress(json)
        var out = [UInt8]()
        out.reserveCapacity(compressed.count + 1)
        out.append(compressedMarker)
        out.append(contentsOf: compressed)
        return out
    }

    /// Returns the JSON document inside an opened (decrypted) unpacked file.
    /// - Throws: `.corrupt` for an empty file, an unknown first byte, or a bad zstd frame.
    public static func decode(_ plaintext: [UInt8], repositoryVersion: Int, decompressor: ZstdDecompressor) throws -> [UInt8] {
        guard repositoryVersion >= 2 else { return plaintext }
        guard let first = plaintext.first else {
            throw LifeboatError(.corrupt, "unpacked file is empty")
        }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return plaintext
        case compressedMarker:
            return try plaintext.withUnsafeBytes { p in
                try decompressor.decompress(UnsafeRawBufferPointer(rebasing: p[1...]))
            }
        default:
            throw LifeboatError(.corrupt, "unpacked file has unsupported encoding byte 0x\(String(first, radix: 16))")
        }
    }
}
