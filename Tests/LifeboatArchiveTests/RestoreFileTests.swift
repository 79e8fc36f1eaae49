#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

@Suite struct RestoreFileTests {
    let temp: TemporaryDirectory
    let target: RestoreTarget

    init() throws {
        temp = try TemporaryDirectory()
        target = try RestoreTarget(root: temp.path)
    }

    @Test func zeroBlocksBecomeHoles() async throws {
        let size = 4 << 20
        var content = [UInt8](repeating: 0, count: size)
        // A few data blocks, one of them straddling a 4 KiB boundary.
        for (offset, length) in [(0, 100), (1 << 20, 4096), (2 << 20 + 4000, 200), (size - 1, 1)] {
            for i in offset..<offset + length { content[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) | 1 }
        }
        let file = try target.openFile([Array("sparse".utf8)], size: UInt64(size))
        // Odd-sized pieces written concurrently and out of order, as a restorer would.
        let pieces = stride(from: 0, to: size, by: 300_001).map { $0..<min($0 + 300_001, size) }.reversed()
        let data = content
        try await withThrowingTaskGroup(of: Void.self) { group in
            for piece in pieces {
                group.addTask {
                    try data[piece].withUnsafeBytes { try file.write($0, at: UInt64(piece.lowerBound)) }
                }
            }
            try await group.waitForAll()
        }
        try file.finish(size: UInt64(size))

        let path = temp.child("sparse")
        let status = try FileStatus.lstat(path)
        #expect(status.size == UInt64(size))
        #expect(status.blocks * 512 < UInt64(size) / 16, "expected holes, got \(status.blocks * 512) bytes allocated")
        #expect(try readFile(path) == content)
    }

    @Test("O_DIRECT writes of whole blocks, the ends of each run buffered, give the same bytes and holes")
    func directWritesKeepBytesAndHoles() async throws {
        let size = 3 << 20 + 777
        var content = [UInt8](repeating: 0, count: size)
        var gen = SeededBytes(seed: 11)
        // Data runs that start and end off the 4 KiB grid, between runs of zero blocks.
        for (offset, length) in [(1, 70_000), (300_000, 4096), (1 << 20 + 123, 900_001), (size - 9_000, 9_000)] {
            content.replaceSubrange(offset..<offset + length, with: gen.bytes(length))
        }
        let file = try target.openFile([Array("direct".utf8)], size: UInt64(size), direct: true)
        #expect(file.writesDirect, "this file system should take O_DIRECT writes")
        let pieces = stride(from: 0, to: size, by: 250_007).map { $0..<min($0 + 250_007, size) }.reversed()
        let data = content
        try await withThrowingTaskGroup(of: Void.self) { group in
            for piece in pieces {
                group.addTask {
                    let bounce = RestoreFile.Bounce(count: 3 * 4096)  // small: a run takes several direct writes
                    try data[piece].withUnsafeBytes { try file.write($0, at: UInt64(piece.lowerBound), bounce: bounce) }
                }
            }
            try await group.waitForAll()
        }
        #expect(file.writesDirect, "a direct write was refused")
        try file.finish(size: UInt64(size))

        let path = temp.child("direct")
        let status = try FileStatus.lstat(path)
        #expect(status.size == UInt64(size))
        #expect(status.blocks * 512 < UInt64(size) * 3 / 5, "expected holes, got \(status.blocks * 512) bytes allocated")
        #expect(try readFile(path) == content)
    }

    @Test func trailingHoleFromFinish() throws {
        let file = try target.openFile([Array("tail".utf8)], size: 1 << 20)
        try ([1, 2] as [UInt8]).withUnsafeBytes { try file.write($0, at: 0) }
        try file.finish(size: 1 << 20)
        let bytes = try readFile(temp.child("tail"))
        #expect(bytes.count == 1 << 20 && bytes[0] == 1 && bytes[1] == 2 && bytes[2...].allSatisfy { $0 == 0 })
        #expect(throws: LifeboatError.self) { try file.finish(size: 0) }
    }
}
