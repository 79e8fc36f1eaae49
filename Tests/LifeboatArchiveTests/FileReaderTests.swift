#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore

@Suite struct FileReaderTests {
    let temp: TemporaryDirectory
    init() throws { temp = try TemporaryDirectory() }

    @Test func readsWholeFileAndReportsStatus() throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let path = temp.child("data")
        try writeFile(path, bytes)
        #expect(try readFile(path) == bytes)

        let reader = try FileReader(path: path)
        let before = try FileStatus.lstat(path)
        #expect(try reader.fstat() == before)
        try writeFile(path, [1]) // changed while open: size and mtime differ now
        #expect(try reader.fstat().size == 1)
        reader.close()
        reader.close()
        #expect(throws: LifeboatError.self) {
            var buffer = [UInt8](repeating: 0, count: 4)
            _ = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        }
    }

    @Test func refusesSymlinksFifosAndDirectories() throws {
        try writeFile(temp.child("real"), [1])
        try check("symlink", temp.child("link")) { symlink(temp.child("real").display, $0) }
        try check("mkfifo", temp.child("fifo")) { mkfifo($0, 0o644) }
        for name in ["link", "fifo", "missing"] {
            #expect(throws: LifeboatError.self) { try FileReader(path: temp.child(name)) }
        }
        #expect(throws: LifeboatError.self) { try FileReader(path: temp.path) }
    }

    @Test func emptyFile() throws {
        try writeFile(temp.child("empty"), [])
        #expect(try readFile(temp.child("empty")) == [])
    }
}
