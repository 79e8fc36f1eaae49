import Testing
import LifeboatCore
import LifeboatRepository

@Suite struct IndexScaleTests {
    /// A few-MB index (restic's 8 MiB guideline) round-trips; also catches accidental
    /// quadratic behaviour in the parser.
    @Test func largeIndexRoundTrips() throws {
        var packs: [IndexFile.Pack] = []
        var counter: UInt64 = 0
        for _ in 0..<200 {
            var blobs: [IndexFile.Blob] = []
            var offset: UInt32 = 0
            for _ in 0..<100 {
                counter += 1
                let id = ID(w0: counter &* 0x9E37_79B9_7F4A_7C15, w1: counter, w2: ~counter, w3: counter << 7)
                blobs.append(.init(id: id, type: .data, offset: offset, length: 4096, uncompressedLength: counter % 2 == 0 ? 9000 : 0))
                offset += 4096
            }
            packs.append(.init(id: ID(w0: counter, w1: 1, w2: 2, w3: 3), blobs: blobs))
        }
        let index = IndexFile(packs: packs)
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let encodeTime = clock.measure { bytes = index.encoded() }
        var decoded = IndexFile()
        let decodeTime = try clock.measure { decoded = try IndexFile(decoding: bytes) }
        print("index of \(bytes.count) bytes (20000 blobs): encode \(encodeTime), decode \(decodeTime)")
        #expect(bytes.count > 2_500_000)
        #expect(decoded == index)
    }
}
