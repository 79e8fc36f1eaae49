import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

@Suite("restore: blobs of zeros used twice or more are not read")
struct ZeroBlobRestoreTests {
    func work(_ plain: [UInt8], pack: ID, offset: UInt32, targets: [(Int, UInt64)]) -> BlobWork {
        let location = BlobLocation(pack: pack, type: .data, offset: offset, length: UInt32(plain.count) + 32,
                                    uncompressedLength: 0)
        return BlobWork(id: SHA256.hash(plain), location: location, targets: targets.map { (file: $0.0, offset: $0.1) })
    }

    @Test("only all-zero blobs with several targets are taken, each target counted with the blob's length")
    func takesOnlySharedZeroBlobs() {
        let packA = SHA256.hash(Array("a".utf8)), packB = SHA256.hash(Array("b".utf8))
        let zeros = [UInt8](repeating: 0, count: 70_000)
        var nearly = zeros
        nearly[69_999] = 1
        var byPack: [ID: [BlobWork]] = [
            packA: [work(zeros, pack: packA, offset: 0, targets: [(0, 0), (0, 70_000), (3, 0)]),
                    work(nearly, pack: packA, offset: 70_032, targets: [(1, 0), (2, 0)])],
            packB: [work(zeros + [0], pack: packB, offset: 0, targets: [(4, 0)]),  // zeros, but used once
                    work([UInt8](repeating: 0, count: 5), pack: packB, offset: 70_033, targets: [(5, 0), (5, 5)])],
        ]
        let fills = takeZeroBlobs(from: &byPack)
        #expect(fills.map { "\($0.file):\($0.count)" }.sorted() == ["0:70000", "0:70000", "3:70000", "5:5", "5:5"])
        #expect(byPack[packA]?.map(\.id) == [SHA256.hash(nearly)])
        #expect(byPack[packB]?.map(\.id) == [SHA256.hash(zeros + [0])])
    }

    @Test("a pack left with nothing to read is dropped")
    func emptiedPackIsDropped() {
        let pack = SHA256.hash(Array("p".utf8))
        var byPack: [ID: [BlobWork]] = [pack: [work([UInt8](repeating: 0, count: 4096), pack: pack, offset: 0, targets: [(0, 0), (1, 0)])]]
        #expect(takeZeroBlobs(from: &byPack).count == 2)
        #expect(byPack.isEmpty)
    }
}

@Suite("restore: a pack's blobs are read in runs")
struct PackRunsTests {
    func blob(_ offset: UInt32, _ length: UInt32) -> BlobWork {
        BlobWork(id: SHA256.hash(Array("\(offset)".utf8)),
                 location: BlobLocation(pack: .zero, type: .data, offset: offset, length: length, uncompressedLength: 0),
                 targets: [(file: 0, offset: 0)])
    }

    @Test("a gap over 1 MiB or a run over the backend's read size starts a new run")
    func splitsAtGapsAndSize() {
        let mib: UInt32 = 1 << 20
        let blobs = [blob(0, mib), blob(mib, mib / 2), blob(mib + mib / 2 + 100, mib / 4),  // gap of 100 bytes: same run
                     blob(4 * mib, mib),                                                  // gap over 1 MiB
                     blob(5 * mib, mib), blob(6 * mib, mib)]                              // third MiB passes 2 MiB
        let runs = PackRuns.split(blobs, maxRun: 2 << 20)
        #expect(runs.map { $0.map(\.location.offset) } == [[0, mib, mib + mib / 2 + 100], [4 * mib, 5 * mib], [6 * mib]])
        #expect(PackRuns.split(blobs, maxRun: 4 << 20).count == 2)
        #expect(PackRuns.split([], maxRun: 2 << 20).isEmpty)
    }
}
