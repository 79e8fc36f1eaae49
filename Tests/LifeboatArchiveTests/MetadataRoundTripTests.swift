#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

/// node → restored entry → NodeReader gives the same metadata back.
@Suite struct MetadataRoundTripTests {
    let temp: TemporaryDirectory
    let target: RestoreTarget
    let reader = NodeReader()

    init() throws {
        temp = try TemporaryDirectory()
        target = try RestoreTarget(root: temp.path)
    }

    func readBack(_ name: String) throws -> Node {
        let path = temp.child(name)
        return try reader.node(name: Array(name.utf8), path: path, status: FileStatus.lstat(path))
    }

    func expectSameMetadata(_ got: Node, _ want: Node) {
        #expect(got.type == want.type)
        #expect(got.mode == want.mode)
        #expect(got.mtime == want.mtime)
        #expect(got.atime == want.mtime)
        #expect(got.uid == want.uid && got.gid == want.gid)
        #expect(got.extendedAttributes == want.extendedAttributes)
    }

    @Test func setuidFileWithXattrsOwnerAndNanoseconds() throws {
        #expect(geteuid() == 0, "restoring ownership needs root")
        var node = Node(name: Array("f".utf8), type: .file, mode: GoFileMode.from(unixMode: 0o104750),
                        mtime: Timestamp(seconds: 1_600_000_000, nanoseconds: 987_654_321),
                        atime: Timestamp(seconds: 1_500_000_000, nanoseconds: 1), uid: 1234, gid: 5678)
        node.extendedAttributes = [.init(name: "user.a", value: [1, 2]), .init(name: "user.b", value: [])]
        let file = try target.openFile([node.name], size: 0)
        try file.finish(size: 0)
        #expect(try target.applyMetadata([node.name], node: node, owner: true).isEmpty)

        let back = try readBack("f")
        expectSameMetadata(back, node)
        #expect(back.mode & GoFileMode.setuid != 0)
        // atime restored as given (NodeReader reports mtime for both by design).
        let s = try FileStatus.lstat(temp.child("f"))
        var raw = stat()
        _ = try withCString(temp.child("f").bytes) { Glibc.lstat($0, &raw) }
        #expect(raw.st_atim.tv_sec == 1_500_000_000 && raw.st_atim.tv_nsec == 1)
        #expect(s.uid == 1234 && s.gid == 5678)
    }

    @Test func stickyAndSetgidDirectories() throws {
        for (name, mode) in [("sticky", UInt32(0o41777)), ("setgid", UInt32(0o42755)), ("private", UInt32(0o40700))] {
            let node = Node(name: Array(name.utf8), type: .dir, mode: GoFileMode.from(unixMode: mode),
                            mtime: Timestamp(seconds: 1_000_000_000, nanoseconds: 500), uid: 0, gid: 0)
            try target.createDirectory([node.name])
            #expect(try target.applyMetadata([node.name], node: node, owner: true).isEmpty)
            expectSameMetadata(try readBack(name), node)
        }
        #expect(try readBack("sticky").mode == 2_148_532_735)
        #expect(try readBack("setgid").mode == 2_151_678_445)
    }

    @Test func symlinkGetsOwnerAndTimesOnly() throws {
        let node = Node(name: Array("l".utf8), type: .symlink, mode: GoFileMode.from(unixMode: 0o120777),
                        mtime: Timestamp(seconds: 1_234_567_890, nanoseconds: 42), uid: 7, gid: 8)
        try target.createSymlink([node.name], target: Array("missing-target".utf8))
        #expect(try target.applyMetadata([node.name], node: node, owner: true).isEmpty)
        let back = try readBack("l")
        expectSameMetadata(back, node)
        #expect(back.linkTarget == Array("missing-target".utf8))
    }

    @Test func fifoAndRootMetadata() throws {
        var node = Node(name: Array("p".utf8), type: .fifo, mode: GoFileMode.from(unixMode: 0o010640),
                        mtime: Timestamp(seconds: 99, nanoseconds: 9))
        // The kernel allows user.* xattrs only on files and directories: that one is a
        // warning; trusted.* (root) works on a FIFO, set through its O_PATH descriptor.
        node.extendedAttributes = [.init(name: "trusted.fifo", value: [3]), .init(name: "user.fifo", value: [4])]
        #expect(try target.createSpecial([node.name], node: node).isEmpty)
        let warnings = try target.applyMetadata([node.name], node: node, owner: false)
        #expect(warnings.count == 1 && warnings.first?.contains("user.fifo") == true)
        node.extendedAttributes.removeLast()
        expectSameMetadata(try readBack("p"), node)

        let rootNode = Node(name: [], type: .dir, mode: GoFileMode.from(unixMode: 0o40751), mtime: Timestamp(seconds: 77))
        #expect(try target.applyMetadata([], node: rootNode, owner: false).isEmpty)
        let status = try FileStatus.lstat(temp.path)
        #expect(status.mode & 0o7777 == 0o751 && status.mtime == Timestamp(seconds: 77))
    }

    @Test func failingXattrBecomesWarning() throws {
        var node = Node(name: Array("w".utf8), type: .file, mode: 0o644, mtime: Timestamp(seconds: 1))
        node.extendedAttributes = [.init(name: "bogus.namespace", value: [1]), .init(name: "user.ok", value: [2])]
        try target.openFile([node.name], size: 0).finish(size: 0)
        let warnings = try target.applyMetadata([node.name], node: node, owner: false)
        #expect(warnings.count == 1 && warnings[0].contains("bogus.namespace"))
        #expect(try readBack("w").extendedAttributes == [.init(name: "user.ok", value: [2])])
        #expect(throws: LifeboatError.self) { try target.applyMetadata([Array("absent".utf8)], node: node, owner: false) }
    }
}
