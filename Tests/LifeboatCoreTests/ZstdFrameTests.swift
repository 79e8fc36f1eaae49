import Testing
@testable import LifeboatCore

@Suite("zstd frames into lent buffers")
struct ZstdFrameTests {
    /// Half text-like, half pseudo-random: compressible blocks and stored ones.
    func sample(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { i in
            if i % 4096 < 2048 { return UInt8(ascii: "a") + UInt8(i / 7 % 26) }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test("any output size gives the same bytes as one-shot compression, and they decompress", arguments: [1, 7, 4096, 1 << 20])
    func sameFrameWhateverTheSpace(space: Int) throws {
        let input = sample(700_000)
        let compressor = ZstdCompressor(level: 2)
        var produced: [UInt8] = []
        var calls = 0
        try input.withUnsafeBytes { raw in
            var frame = compressor.frame(raw)
            var buffer = [UInt8](repeating: 0, count: space)
            while !frame.isDone {
                let n = buffer.withUnsafeMutableBytes { frame.compress(into: $0) }
                #expect(n <= space)
                produced += buffer[0..<n]
                calls += 1
                try #require(calls < 10_000_000, "the frame never completes")
            }
        }
        #expect(produced == compressor.compress(input), "streamed and one-shot frames differ")
        let back = try produced.withUnsafeBytes { try ZstdDecompressor().decompress($0, expectedSize: input.count) }
        #expect(back == input)
        #expect(produced.count < input.count * 3 / 4, "the text half did not compress")
    }
}
