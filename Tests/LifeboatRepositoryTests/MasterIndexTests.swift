import Testing
import LifeboatCore
@testable import LifeboatRepository

@Suite struct MasterIndexTests {
    static func id(_ i: Int) -> ID {
        var bytes = [UInt8](repeating: 0, count: 32)
        var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        for k in 0..<32 {
            x ^= x >> 29; x &*= 0xBF58_476D_1CE4_E5B9
            bytes[k] = UInt8(truncatingIfNeeded: x >> 32)
        }
        return ID(bytes: bytes)
    }

    func makeIndex(_ count: Int) -> MasterIndex {
        var index = MasterIndex()
        for i in 0..<count {
            index.add(Self.id(i), BlobLocation(pack: Self.id(1_000_000 + i / 10), type: i % 5 == 0 ? .tree : .data,
                                               offset: UInt32(i), length: 100, uncompressedLength: 0))
        }
        return index
    }

    @Test func batchedLookupsAgreeWithSingleOnes() {
        let index = makeIndex(5_000)
        // Hits, misses, and IDs present only as the other blob type, in counts below, at and
        // above the prefetch distance.
        let distance = MasterIndex.prefetchDistance
        for count in [0, 1, 7, distance - 1, distance, distance + 1, 63, 200] {
            let ids = (0..<count).map { Self.id(($0 * 37) % 7_000) }
            for type in [BlobType.data, .tree] {
                var batched: [Int?] = []
                ids.withUnsafeBufferPointer { buffer in
                    index.forEachPosition(of: buffer, type: type) { i, slot in
                        #expect(i == batched.count)
                        batched.append(slot)
                    }
                }
                #expect(batched == ids.map { index.position(of: $0, type: type) })
                #expect(index.containsAll(ids, type: type) == ids.allSatisfy { index.contains($0, type: type) })
            }
        }
        let present = (0..<100).filter { $0 % 5 != 0 }.map(Self.id)
        #expect(index.containsAll(present, type: .data))
        #expect(!index.containsAll(present + [Self.id(9_999)], type: .data))
        #expect(MasterIndex().containsAll([], type: .data))
        #expect(!MasterIndex().containsAll([Self.id(1)], type: .data))
    }

    @Test func lookupReturnsWhatWasAdded() {
        let index = makeIndex(1_000)
        for i in stride(from: 0, to: 1_000, by: 13) {
            let location = index.lookup(Self.id(i), type: i % 5 == 0 ? .tree : .data)
            #expect(location?.offset == UInt32(i))
            #expect(location?.pack == Self.id(1_000_000 + i / 10))
        }
    }
}
