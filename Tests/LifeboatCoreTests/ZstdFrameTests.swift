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

    @Test("a frame decompressed through a small window gives its plaintext piece by piece, in order", arguments: [1, 4096, 65_536, 1 << 20])
    func decompressesThroughAWindow(window: Int) throws {
        let input = sample(700_000)
        let frame = ZstdCompressor(level: 2).compress(input)
        var back: [UInt8] = []
        var window = [UInt8](repeating: 0, count: window)
        try frame.withUnsafeBytes { raw in
            try window.withUnsafeMutableBytes { w in
                try ZstdDecompressor().decompress(raw, expectedSize: input.count, through: w) { piece in
                    #expect(piece.count <= w.count && piece.count > 0)
                    back += piece
                }
            }
        }
        #expect(back == input)
    }

    @Test("through a window, a truncated frame and a frame longer than expected are corrupt")
    func windowedDecompressionRejectsBadFrames() throws {
        let input = sample(300_000)
        let frame = ZstdCompressor(level: 2).compress(input)
        var window = [UInt8](repeating: 0, count: 65_536)
        func run(_ bytes: ArraySlice<UInt8>, expected: Int) throws -> Int {
            var seen = 0
            try Array(bytes).withUnsafeBytes { raw in
                try window.withUnsafeMutableBytes { w in
                    try ZstdDecompressor().decompress(raw, expectedSize: expected, through: w) { seen += $0.count }
                }
            }
            return seen
        }
        #expect(try run(frame[...], expected: input.count) == input.count)
        #expect(throws: LifeboatError.self) { try run(frame.dropLast(100), expected: input.count) }
        let error = #expect(throws: LifeboatError.self) { try run(frame[...], expected: input.count - 1) }
        #expect(error?.message.contains("more than the expected") == true, "\(String(describing: error))")
        #expect(throws: LifeboatError.self) { try run(frame[...], expected: input.count + 1) }
    }
}
