#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

private func c(_ path: String) -> [[UInt8]] { path.split(separator: "/").map { Array($0.utf8) } }

@Suite struct RestoreTargetTests {
    let temp: TemporaryDirectory
    let target: RestoreTarget

    init() throws {
        temp = try TemporaryDirectory()
        target = try RestoreTarget(root: temp.child("restore/deep"))
    }

    var root: RawPath { target.root }

    @Test(arguments: [[Array("..".utf8)], [Array("a/b".utf8)], [[]], [Array(".".utf8)],
                      [Array("ok".utf8), Array("..".utf8)], [[0x61, 0, 0x62]]])
    func rejectsUnsafeComponents(_ components: [[UInt8]]) throws {
        let error = #expect(throws: LifeboatError.self) { try target.createDirectory(components) }
        #expect(error?.code == .corrupt)
        #expect(throws: LifeboatError.self) { try target.openFile(components, size: 0) }
        #expect(throws: LifeboatError.self) { try target.createSymlink(components, target: [0x78]) }
        #expect(throws: LifeboatError.self) { try target.applyMetadata(components, node: Node(name: [], type: .dir), owner: true) }
        #expect(!exists(temp.child("b")) && !exists(temp.child("restore/b")))
    }

    @Test func createsDirectoriesAndFiles() throws {
        try target.createDirectory(c("a/b/c"))
        try target.createDirectory(c("a/b/c")) // idempotent
        #expect(try FileStatus.lstat(root.appending(component: c("a")[0])).isDirectory)
        let file = try target.openFile(c("x/y/file"), size: 3)
        try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try file.write($0, at: 0) }
        try file.finish(size: 3)
        #expect(try readFile(RawPath(root.display + "/x/y/file")) == [1, 2, 3])
        #expect(throws: LifeboatError.self) { try target.openFile([], size: 0) }
    }

    @Test func symlinkInTargetIsNeverFollowed() throws {
        let outside = temp.child("outside")
        try check("mkdir", outside) { mkdir($0, 0o755) }
        try writeFile(outside.appending(component: c("victim")[0]), [7], mode: 0o644)
        try target.createSymlink(c("evil"), target: Array(outside.bytes))
        try target.createSymlink(c("evilfile"), target: Array(outside.display.utf8) + Array("/victim".utf8))

        #expect(throws: LifeboatError.self) { try target.createDirectory(c("evil/sub")) }
        #expect(throws: LifeboatError.self) { try target.openFile(c("evil/file"), size: 1) }
        #expect(throws: LifeboatError.self) { try target.createSymlink(c("evil/link"), target: [0x78]) }
        #expect(throws: LifeboatError.self) { try target.createHardLink(c("evil/hard"), to: c("evilfile")) }
        var node = Node(name: [], type: .file, mode: 0o777, mtime: Timestamp(seconds: 5))
        node.extendedAttributes = [.init(name: "user.evil", value: [1])]
        #expect(throws: LifeboatError.self) { try target.applyMetadata(c("evil/victim"), node: node, owner: true) }

        // Metadata for the symlink itself must not reach what it points to.
        let before = try FileStatus.lstat(outside.appending(component: c("victim")[0]))
        _ = try target.applyMetadata(c("evilfile"), node: node, owner: true)
        let after = try FileStatus.lstat(outside.appending(component: c("victim")[0]))
        #expect(before == after)
        #expect(try ExtendedAttributes.read(outside.appending(component: c("victim")[0])).isEmpty)
        #expect(try FileStatus.lstat(root.appending(component: c("evilfile")[0])).mtime == Timestamp(seconds: 5))

        // Opening a file over a symlink replaces the link, never writes through it.
        let file = try target.openFile(c("evilfile"), size: 2)
        try ([9, 9] as [UInt8]).withUnsafeBytes { try file.write($0, at: 0) }
        try file.finish(size: 2)
        #expect(try readFile(outside.appending(component: c("victim")[0])) == [7])
        #expect(try FileStatus.lstat(root.appending(component: c("evilfile")[0])).isRegular)
        // createDirectory replaces a symlink at the final component.
        try target.createDirectory(c("evil"))
        #expect(try FileStatus.lstat(root.appending(component: c("evil")[0])).isDirectory)
        #expect(try Directory.entries(of: outside) == [Array("victim".utf8)])
    }

    @Test func symlinksHardLinksAndFifos() throws {
        let linkTarget: [UInt8] = Array("../nowhere/".utf8) + [0xff]
        try target.createSymlink(c("d/link"), target: linkTarget)
        #expect(try NodeReader.readLink(RawPath(root.display + "/d/link")) == linkTarget)
        try target.createSymlink(c("d/link"), target: [0x79]) // replaces
        #expect(try NodeReader.readLink(RawPath(root.display + "/d/link")) == [0x79])

        let file = try target.openFile(c("d/one"), size: 1)
        try ([5] as [UInt8]).withUnsafeBytes { try file.write($0, at: 0) }
        try file.finish(size: 1)
        try target.createHardLink(c("e/two"), to: c("d/one"))
        let one = try FileStatus.lstat(RawPath(root.display + "/d/one"))
        let two = try FileStatus.lstat(RawPath(root.display + "/e/two"))
        #expect(one.inode == two.inode && one.links == 2)
        #expect(throws: LifeboatError.self) { try target.createHardLink(c("d/one"), to: c("d/one")) }

        // Rewriting a hard-linked name must not change the other name's data.
        let again = try target.openFile(c("e/two"), size: 1)
        try ([6] as [UInt8]).withUnsafeBytes { try again.write($0, at: 0) }
        try again.finish(size: 1)
        #expect(try readFile(RawPath(root.display + "/d/one")) == [5])

        #expect(try target.createSpecial(c("f/fifo"), node: Node(name: [], type: .fifo)).isEmpty)
        #expect(try FileStatus.lstat(RawPath(root.display + "/f/fifo")).mode & 0o170000 == 0o010000)
        #expect(try !target.createSpecial(c("f/sock"), node: Node(name: [], type: .socket)).isEmpty)
        #expect(throws: LifeboatError.self) { try target.createSpecial(c("f/x"), node: Node(name: [], type: .file)) }
        // A file restored over the FIFO replaces it instead of blocking on it.
        let overFifo = try target.openFile(c("f/fifo"), size: 0)
        try overFifo.finish(size: 0)
        #expect(try FileStatus.lstat(RawPath(root.display + "/f/fifo")).isRegular)
    }

    @Test func characterDevice() throws {
        #expect(geteuid() == 0, "this test needs root to mknod")
        var node = Node(name: [], type: .charDevice)
        node.device = 259
        #expect(try target.createSpecial(c("null"), node: node).isEmpty)
        let status = try FileStatus.lstat(root.appending(component: c("null")[0]))
        #expect(status.mode & 0o170000 == 0o020000 && status.rdev == 259)
    }

    @Test func nonEmptyDirectoryIsNotReplaced() throws {
        try target.createDirectory(c("full/inner"))
        #expect(throws: LifeboatError.self) { try target.openFile(c("full"), size: 0) }
        #expect(try FileStatus.lstat(RawPath(root.display + "/full/inner")).isDirectory)
    }
}
