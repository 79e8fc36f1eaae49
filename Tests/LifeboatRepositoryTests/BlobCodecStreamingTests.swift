import Testing
import LifeboatCore
@testable import LifeboatRepository

/// Opening a blob through a decompression window (restore): pieces in order, the MAC
/// checked first, the SHA-256 after the last piece.
@Suite struct BlobCodecStreamingTests {
    let key = CryptoKey.random()

    /// A sealed, compressed data blob of `plain` and where it lies.
    func sealed(_ plain: [UInt8]) -> (bytes: [UInt8], location: BlobLocation) {
        let bytes = Cipher(key: key).seal(ZstdCompressor(level: 2).compress(plain))
        return (bytes, BlobLocation(pack: .zero, type: .data, offset: 0, length: UInt32(bytes.count),
                                    uncompressedLength: UInt32(plain.count)))
    }

    func open(_ sealed: [UInt8], id: ID, location: BlobLocation, window: Int) throws -> [(offset: Int, bytes: [UInt8])] {
        var copy = sealed
        var buffers = BlobCodec.Buffers()
        var pieces: [(offset: Int, bytes: [UInt8])] = []
        try copy.withUnsafeMutableBytes { raw in
            try BlobCodec.open(inPlace: raw, id: id, location: location, cipher: Cipher(key: key), decompressor: ZstdDecompressor(),
                               buffers: &buffers, window: window) { piece, offset in pieces.append((offset, Array(piece))) }
        }
        return pieces
    }

    @Test(arguments: [4096, 100_000, 1 << 20])
    func piecesReassembleThePlaintext(window: Int) throws {
        let plain = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 / 3 &* 7 ^ $0 >> 9) }
        let blob = sealed(plain)
        let pieces = try open(blob.bytes, id: SHA256.hash(plain), location: blob.location, window: window)
        #expect(pieces.allSatisfy { $0.bytes.count <= window })
        var offset = 0
        for piece in pieces {
            #expect(piece.offset == offset)
            offset += piece.bytes.count
        }
        #expect(pieces.flatMap(\.bytes) == plain)
    }

    @Test func aBlobWhoseContentIsNotItsIDFailsAfterItsPieces() throws {
        let plain = [UInt8](repeating: 7, count: 300_000)
        let blob = sealed(plain)
        let error = #expect(throws: LifeboatError.self) {
            try open(blob.bytes, id: SHA256.hash([1, 2, 3]), location: blob.location, window: 65_536)
        }
        #expect(error?.message.contains("does not match its ID") == true, "\(String(describing: error))")
    }

    @Test func aBadMACFailsBeforeAnyPiece() throws {
        let plain = [UInt8](repeating: 9, count: 200_000)
        var blob = sealed(plain)
        blob.bytes[20] ^= 1
        var pieces = 0
        var copy = blob.bytes
        var buffers = BlobCodec.Buffers()
        #expect(throws: LifeboatError.self) {
            try copy.withUnsafeMutableBytes { raw in
                try BlobCodec.open(inPlace: raw, id: SHA256.hash(plain), location: blob.location, cipher: Cipher(key: key),
                                   decompressor: ZstdDecompressor(), buffers: &buffers, window: 65_536) { _, _ in pieces += 1 }
            }
        }
        #expect(pieces == 0)
    }
}
