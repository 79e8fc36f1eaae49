import Testing
import LifeboatCore
import LifeboatRepository

@Suite struct UnpackedFileTests {
    let json = Array(#"{"time":"2024-01-01T10:00:00Z","exclusive":false,"hostname":"h","username":"u","pid":1}"#.utf8)

    @Test func v2CompressesWithMarker() throws {
        let encoded = UnpackedFile.encode(json: json, repositoryVersion: 2, compressor: ZstdCompressor())
        #expect(Array(encoded.prefix(5)) == [0x02, 0x28, 0xb5, 0x2f, 0xfd])
        #expect(try UnpackedFile.decode(encoded, repositoryVersion: 2, decompressor: ZstdDecompressor()) == json)
    }

    @Test func v1IsRawJSON() throws {
        #expect(UnpackedFile.encode(json: json, repositoryVersion: 1, compressor: ZstdCompressor()) == json)
        #expect(try UnpackedFile.decode(json, repositoryVersion: 1, decompressor: ZstdDecompressor()) == json)
        // v1 has no encoding byte: whatever is there is the document.
        #expect(try UnpackedFile.decode([0x02, 0x7b], repositoryVersion: 1, decompressor: ZstdDecompressor()) == [0x02, 0x7b])
    }

    @Test func v2AcceptsLegacyRawJSON() throws {
        #expect(try UnpackedFile.decode(json, repositoryVersion: 2, decompressor: ZstdDecompressor()) == json)
        let array = Array("[]".utf8)
        #expect(try UnpackedFile.decode(array, repositoryVersion: 2, decompressor: ZstdDecompressor()) == array)
    }

    @Test(arguments: [[], [0x01, 0x7b], [0x20, 0x7b], [0xEF, 0xBB, 0xBF, 0x7b], [0x02, 0x00, 0x01]] as [[UInt8]])
    func v2RejectsOtherEncodings(plaintext: [UInt8]) {
        #expect(throws: LifeboatError.self) {
            try UnpackedFile.decode(plaintext, repositoryVersion: 2, decompressor: ZstdDecompressor())
        }
    }
}
