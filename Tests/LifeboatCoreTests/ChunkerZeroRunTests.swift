import Testing
import LifeboatCore

/// The chunker skips runs of zero bytes without hashing them; the cuts must be exactly
/// those of hashing every byte.
@Suite struct ChunkerZeroRunTests {
    static let small = ChunkerParameters(minSize: 4096, normalSize: 16384, maxSize: 65536, strictBits: 14, looseBits: 10)

    /// The plain definition: hash every byte after the first minSize-64 of a chunk.
    static func referenceCuts(_ data: [UInt8], gear: [UInt64], _ p: ChunkerParameters) -> [Int] {
        var cuts: [Int] = []
        var start = 0
        while start < data.count {
            var h: UInt64 = 0
            var len = p.minSize - 64
            var i = start + len
            var cut: Int?
            while i < data.count {
                h = (h << 1) &+ gear[Int(data[i])]
                i += 1
                len += 1
                if len >= p.minSize, h & (len < p.normalSize ? p.strictMask : p.looseMask) == 0 || len >= p.maxSize {
                    cut = i
                    break
                }
            }
            guard let cut else { break }
            cuts.append(cut)
            start = cut
        }
        return cuts
    }

    static func cuts(_ data: [UInt8], gear: GearTable, _ p: ChunkerParameters, piece: Int) -> [Int] {
        var chunker = Chunker(gear: gear, parameters: p)
        var cuts: [Int] = []
        data.withUnsafeBytes { raw in
            var offset = 0, pieceEnd = 0
            while offset < raw.count {
                if offset >= pieceEnd { pieceEnd = min(raw.count, offset + piece) }
                if let n = chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: raw[offset..<pieceEnd])) {
                    offset += n
                    cuts.append(offset)
                } else {
                    offset = pieceEnd
                }
            }
        }
        return cuts
    }

    /// Random bytes with zero runs of 1 byte to several maximum chunk sizes.
    static func zeroHeavyData(seed: UInt64, count: Int) -> [UInt8] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var data: [UInt8] = []
        data.reserveCapacity(count)
        while data.count < count {
            let runs = [1, 7, 63, 64, 65, 300, 5000, 70_000, 200_000]
            let zeros = runs[Int(next() % UInt64(runs.count))]
            data.append(contentsOf: repeatElement(0, count: zeros))
            for _ in 0..<Int(next() % 40_000) { data.append(UInt8(truncatingIfNeeded: next())) }
        }
        return Array(data.prefix(count))
    }

    @Test("zero runs: the same cuts as hashing every byte, for any table and piece size", arguments: [1, 2, 3])
    func sameCutsAsTheReference(seed: UInt64) {
        let data = Self.zeroHeavyData(seed: seed, count: 3 << 20)
        let gear = GearTable(seed: "zero-run-\(seed)")
        let expected = Self.referenceCuts(data, gear: gear.values, Self.small)
        #expect(expected.count > 40)
        for piece in [data.count, 65_536, 4099, 100] {
            #expect(Self.cuts(data, gear: gear, Self.small, piece: piece) == expected, "piece size \(piece)")
        }
    }

    @Test("a table whose zero-run hash matches the loose mask cuts inside zero runs, as hashing would")
    func zeroRunThatCuts() {
        var values = GearTable(seed: "zero-cuts").values
        // Zero-run hash with one bit inside the strict mask and none inside the loose one:
        // zero runs cannot cut before normalSize, and must cut at it.
        values[0] = 0 &- (UInt64(1) << 52)
        let gear = GearTable(values: values)
        let data = Self.zeroHeavyData(seed: 9, count: 1 << 20)
        let expected = Self.referenceCuts(data, gear: values, Self.small)
        #expect(Self.cuts(data, gear: gear, Self.small, piece: 8192) == expected)
        let zeros = [UInt8](repeating: 0, count: 100_000)
        #expect(Self.cuts(zeros, gear: gear, Self.small, piece: zeros.count) == Array(stride(from: 16384, through: 100_000, by: 16384)))
    }

    @Test("all zeros: cut at the maximum size, also with the standard parameters")
    func allZerosCutAtTheMaximum() {
        let gear = GearTable(seed: "standard")
        let zeros = [UInt8](repeating: 0, count: 20 << 20)
        #expect(Self.cuts(zeros, gear: gear, .standard, piece: 1 << 20) == [8 << 20, 16 << 20])
        #expect(Self.cuts(zeros, gear: gear, .standard, piece: 1 << 20) == Self.referenceCuts(zeros, gear: gear.values, .standard))
    }
}
