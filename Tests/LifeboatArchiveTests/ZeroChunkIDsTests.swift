import Testing
@testable import LifeboatArchive
import LifeboatCore

@Suite("IDs of all-zero chunks")
struct ZeroChunkIDsTests {
    @Test("every chunk gets its SHA-256, whether the table knows its length or not")
    func idsAreTheHashes() {
        var table = ZeroChunkIDs()
        var chunks: [[UInt8]] = []
        for length in [1, 4095, 4096, 8 << 20, 4096, 8 << 20, 5000, 8 << 20 - 1] {
            chunks.append([UInt8](repeating: 0, count: length))
        }
        // Not all zeros: a byte set at the start, in the middle, at the end, and one word in.
        for position in [0, 1 << 20, (2 << 20) - 1, 8] {
            var chunk = [UInt8](repeating: 0, count: 2 << 20)
            chunk[position] = 1
            chunks.append(chunk)
        }
        chunks.append([UInt8](repeating: 0, count: 2 << 20))  // after the near misses, the real one
        for chunk in chunks {
            let id = chunk.withUnsafeBytes { table.id(of: $0) }
            #expect(id == SHA256.hash(chunk), "wrong ID for a \(chunk.count)-byte chunk")
        }
    }
}
