import Testing
import LifeboatCore
import LifeboatRepository

@Suite struct PackHeaderTests {
    static func id(_ byte: UInt8) -> ID { ID(bytes: [UInt8](repeating: byte, count: 32)) }

    @Test func roundTripsAndComputesOffsets() throws {
        let entries = [
            PackBlobEntry(type: .data, length: 100, id: Self.id(1)),
            PackBlobEntry(type: .tree, length: 200, id: Self.id(2)),
            PackBlobEntry(type: .data, length: 300, uncompressedLength: 900, id: Self.id(3)),
            PackBlobEntry(type: .tree, length: 400, uncompressedLength: 1000, id: Self.id(4)),
        ]
        let header = PackHeader.encode(entries)
        #expect(header.count == 37 + 37 + 41 + 41)
        #expect([header[0], header[37], header[74], header[115]] == [0, 1, 2, 3])
        #expect(Array(header[1..<5]) == [100, 0, 0, 0])
        #expect(Array(header[79..<83]) == [0x84, 0x03, 0, 0]) // U = 900 LE
        let decoded = try PackHeader.decode(header)
        #expect(decoded.map(\.offset) == [0, 100, 300, 600])
        var expected = entries
        for i in expected.indices { expected[i].offset = decoded[i].offset }
        #expect(decoded == expected)
        #expect(PackHeader.entrySize(compressed: false) == 37 && PackHeader.entrySize(compressed: true) == 41)
        #expect(try PackHeader.decode([]) == [])
    }

    @Test func rejectsUnknownTypeAndTruncation() {
        let good = PackHeader.encode([PackBlobEntry(type: .data, length: 1, id: Self.id(9))])
        #expect(throws: LifeboatError.self) { try PackHeader.decode([4] + good.dropFirst()) }
        #expect(throws: LifeboatError.self) { try PackHeader.decode(Array(good.dropLast())) }
        let compressed = PackHeader.encode([PackBlobEntry(type: .tree, length: 1, uncompressedLength: 5, id: Self.id(9))])
        #expect(throws: LifeboatError.self) { try PackHeader.decode(Array(compressed.dropLast(4))) }
        #expect(throws: LifeboatError.self) { try PackHeader.decode(good + [0]) }
    }

    /// RESTIC-V2-FORMAT.md §5: the smallest pack of the v2 fixture, 1804 bytes.
    @Test func decodesThe1804BytePack() throws {
        let repo = try ResticFixture("restic-v2-repo")
        defer { repo.remove() }
        let name = "b073ca4355ec526f00d779de80212c23997426050166d9f7e93cfa8e030d2ac3"
        let file = try repo.read("data/b0/\(name)")
        #expect(file.count == 1804)
        #expect(Array(file.suffix(4)) == [0x72, 0, 0, 0])
        let plaintext = try repo.cipher.open(Array(file[(1804 - 4 - 114)..<1800]))
        #expect(plaintext.count == 82)
        #expect(Array(plaintext[0..<9]) == [0x03, 0x04, 0x02, 0, 0, 0xd8, 0x06, 0, 0])
        let entries = try PackHeader.decode(plaintext)
        #expect(entries.map(\.type) == [.tree, .tree])
        #expect(entries.map(\.length) == [516, 1170])
        #expect(entries.map(\.uncompressedLength) == [1752, 4960])
        #expect(entries.map(\.offset) == [0, 516])
        #expect(entries[0].id.hex.hasPrefix("a4b63a63") && entries[0].id.hex.hasSuffix("4973"))
        #expect(entries[1].id.hex.hasPrefix("713aecc7") && entries[1].id.hex.hasSuffix("7d06"))
        #expect(PackHeader.encode(entries) == plaintext)
    }
}
