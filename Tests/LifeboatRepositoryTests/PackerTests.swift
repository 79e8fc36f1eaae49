import Foundation
import Testing
import LifeboatCore
@testable import LifeboatRepository

/// Pack spool files: exact bytes and size whether written past the page cache (`O_DIRECT`,
/// padded last write cut back) or through it, on /tmp and on /dev/shm (tmpfs).
@Suite struct PackerTests {
    static var spoolParents: [String] {
        ["/tmp", "/dev/shm"].filter { FileManager.default.isWritableFile(atPath: $0) }
    }

    @Test(arguments: [false, true])
    func packFileHoldsExactlyWhatWasWritten(uncached: Bool) throws {
        for parent in Self.spoolParents {
            let spool = parent + "/lifeboat-packer-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: spool) }
            let packer = try Packer(type: .data, spoolDirectory: spool, uncached: uncached)
            var expected: [UInt8] = []
            // Sizes around the 4 KiB alignment and the 1 MiB buffer, some in several pieces.
            for pieces in [[1], [4095], [4096, 1], [1 << 20], [(1 << 20) - 3, 700_000, 5], [3 << 20]] {
                let start = packer.size
                var length = 0
                for count in pieces {
                    let bytes = secureRandomBytes(count)
                    try bytes.withUnsafeBytes { try packer.write($0) }
                    expected += bytes
                    length += count
                }
                packer.endBlob(id: SHA256.hash(expected.suffix(length)), start: start, uncompressedLength: 0)
            }
            let key = CryptoKey.random()
            let pack = try packer.finish(cipher: Cipher(key: key))
            let stored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pack.file.path)))
            #expect(stored.count == pack.file.size, "\(parent): the padded last write is cut back")
            #expect(SHA256.hash(stored) == pack.id)
            // A Bool, not the arrays: a failure must not render megabytes of bytes.
            #expect(stored.prefix(expected.count).elementsEqual(expected), "\(parent): the blobs' bytes come back in order")
            let headerLength = Int(stored.suffix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian)
            #expect(expected.count + headerLength + 4 == stored.count)
            let header = try Cipher(key: key).open(Array(stored[expected.count..<(expected.count + headerLength)]))
            #expect(try PackHeader.decode(header).map(\.length) == pack.blobs.map(\.length))
        }
    }
}
