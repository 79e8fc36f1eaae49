#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

@Suite struct NodeReaderTests {
    let temp: TemporaryDirectory
    let reader = NodeReader()

    init() throws { temp = try TemporaryDirectory() }

    func node(_ name: String) throws -> Node {
        let path = temp.child(name)
        return try reader.node(name: Array(name.utf8), path: path, status: FileStatus.lstat(path))
    }

    @Test func regularFile() throws {
        let path = temp.child("file")
        try writeFile(path, Array("hello".utf8), mode: 0o644)
        try setTimes(path, seconds: 1_700_000_000, nanoseconds: 123_456_789)
        let n = try node("file")
        let status = try FileStatus.lstat(path)
        #expect(n.type == .file)
        #expect(n.mode == 420)
        #expect(n.size == 5)
        #expect(n.links == 1)
        #expect(n.content == [])
        #expect(n.mtime == Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789))
        #expect(n.mtime.utcOffset == 0 && n.ctime.utcOffset == 0)
        #expect(n.atime == n.mtime)
        #expect(n.ctime == status.ctime)
        #expect(n.uid == 0 && n.gid == 0 && n.user == "root" && n.group == "root")
        #expect(n.inode == status.inode && n.deviceID == status.device)
        #expect(n.device == nil && n.linkTarget == nil && n.subtree == nil)
    }

    @Test func directoryAndStickyDirectory() throws {
        try check("mkdir", temp.child("dir")) { mkdir($0, 0o755) }
        try check("chmod", temp.child("dir")) { chmod($0, 0o755) }
        try check("mkdir", temp.child("sticky")) { mkdir($0, 0o777) }
        try check("chmod", temp.child("sticky")) { chmod($0, 0o1777) }
        let dir = try node("dir")
        #expect(dir.type == .dir)
        #expect(dir.mode == 2_147_484_141)
        #expect(dir.content == nil && dir.size == nil && dir.links == nil)
        #expect(dir.deviceID != nil && dir.inode != nil)
        #expect(try node("sticky").mode == 2_148_532_735)
    }

    @Test func setuidFile() throws {
        try writeFile(temp.child("suid"), [1], mode: 0o4755)
        #expect(try node("suid").mode == 8_389_101)
    }

    @Test func symlinkWithNonUTF8Target() throws {
        let target: [UInt8] = [0x2f, 0x6e, 0x6f, 0xff, 0xfe]
        let code = try withCString(target) { t in try withCString(temp.child("link").bytes) { symlink(t, $0) } }
        #expect(code == 0)
        let n = try node("link")
        #expect(n.type == .symlink)
        #expect(n.mode == 134_218_239)
        #expect(n.linkTarget == target)
        #expect(n.links == 1)
        #expect(n.content == nil && n.extendedAttributes.isEmpty)
    }

    @Test func fifo() throws {
        try check("mkfifo", temp.child("fifo")) { mkfifo($0, 0o644) }
        try check("chmod", temp.child("fifo")) { chmod($0, 0o644) }
        let n = try node("fifo")
        #expect(n.type == .fifo)
        #expect(n.mode == 33_554_852)
        #expect(n.links == nil && n.content == nil && n.size == nil)
    }

    @Test func hardLinkedPair() throws {
        try writeFile(temp.child("a"), [1, 2, 3])
        try check("link", temp.child("b")) { link(temp.child("a").display, $0) }
        let a = try node("a"), b = try node("b")
        #expect(a.links == 2 && b.links == 2)
        #expect(a.inode == b.inode && a.deviceID == b.deviceID)
        #expect(a.name != b.name)
    }

    @Test func characterDevice() throws {
        #expect(geteuid() == 0, "this test needs root to mknod")
        let dev = Linux.makeDevice(major: 1, minor: 3)
        try check("mknod", temp.child("null")) { mknod($0, 0o020000 | 0o644, dev_t(dev)) }
        try check("chmod", temp.child("null")) { chmod($0, 0o644) }
        let n = try node("null")
        #expect(n.type == .charDevice)
        #expect(n.mode == 69_206_436)
        #expect(n.device == 259)
        #expect(n.links == 1 && n.content == nil)
    }

    @Test func deviceNumberEncoding() {
        #expect(Linux.makeDevice(major: 1, minor: 3) == 259)
        #expect(Linux.makeDevice(major: 0x1234, minor: 0x5678) == 0x0000_1000_0562_3478)
    }

    @Test func extendedAttributesSortedByName() throws {
        let path = temp.child("x")
        try writeFile(path, [])
        try setXattr(path, "user.zeta", Array("last".utf8))
        try setXattr(path, "user.alpha", [0, 1, 255])
        try setXattr(path, "user.empty", [])
        let n = try node("x")
        #expect(n.extendedAttributes == [
            .init(name: "user.alpha", value: [0, 1, 255]),
            .init(name: "user.empty", value: []),
            .init(name: "user.zeta", value: Array("last".utf8)),
        ])
        let without = try reader.node(name: [0x78], path: path, status: FileStatus.lstat(path), withXattrs: false)
        #expect(without.extendedAttributes.isEmpty)
    }

    @Test func untouchedFileTakesXattrsAndLinkTargetFromThePreviousNode() throws {
        let path = temp.child("x")
        try writeFile(path, [])
        try setXattr(path, "user.a", [1])
        let status = try FileStatus.lstat(path)
        // A previous node with made-up attributes: taking them proves nothing was read.
        var previous = try reader.node(name: [0x78], path: path, status: status)
        previous.extendedAttributes = [.init(name: "user.recorded", value: [2])]
        #expect(try reader.node(name: [0x78], path: path, status: status, previous: previous).extendedAttributes == previous.extendedAttributes)

        try setXattr(path, "user.b", [3])  // changes the ctime
        let changed = try reader.node(name: [0x78], path: path, status: FileStatus.lstat(path), previous: previous)
        #expect(changed.extendedAttributes == [.init(name: "user.a", value: [1]), .init(name: "user.b", value: [3])])

        var otherInode = previous
        otherInode.inode = previous.inode! + 1
        #expect(try reader.node(name: [0x78], path: path, status: status, previous: otherInode).extendedAttributes.count == 2)

        let link = temp.child("l")
        try check("symlink", link) { symlink("target", $0) }
        let linkStatus = try FileStatus.lstat(link)
        var previousLink = try reader.node(name: [0x6c], path: link, status: linkStatus)
        previousLink.linkTarget = Array("recorded".utf8)
        #expect(try reader.node(name: [0x6c], path: link, status: linkStatus, previous: previousLink).linkTarget == Array("recorded".utf8))
        previousLink.ctime = .epoch
        #expect(try reader.node(name: [0x6c], path: link, status: linkStatus, previous: previousLink).linkTarget == Array("target".utf8))
    }

    @Test func unsupportedXattrListingDoesNotFail() throws {
        // procfs and sysfs entries answer llistxattr with nothing or ENOTSUP.
        for path in ["/proc/self/status", "/sys/kernel"] {
            let raw = RawPath(path)
            _ = try reader.node(name: [1], path: raw, status: FileStatus.lstat(raw))
        }
    }

    @Test func socketIsReportedAsSocket() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(temp.child("sock").bytes)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(rc == 0)
        #expect(try node("sock").type == .socket)
    }

    @Test func directoryEntriesSortedByRawBytes() throws {
        let names: [[UInt8]] = [Array("b".utf8), [0x62, 0x61, 0x64, 0xff], Array("badlink".utf8), Array("A".utf8)]
        for name in names { try writeFile(temp.path.appending(component: name), []) }
        #expect(try Directory.entries(of: temp.path) == names.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(throws: LifeboatError.self) { try Directory.entries(of: temp.child("missing")) }
        #expect(throws: LifeboatError.self) { try FileStatus.lstat(temp.child("missing")) }
    }

    @Test func rawPathAppending() {
        #expect(RawPath("/a").appending(component: [0x62]).bytes == Array("/a/b".utf8))
        #expect(RawPath("/").appending(component: [0x62]).bytes == Array("/b".utf8))
        #expect(RawPath(bytes: [0x61, 0xff]).display == "a\u{FFFD}")
    }
}
