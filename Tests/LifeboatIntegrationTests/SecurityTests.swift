import Foundation
import Testing
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// Crafted repositories must not make `lifeboat restore` write outside --target.
@Suite("CLI security", .serialized)
struct SecurityTests {
    /// A repository writer for hand-made trees.
    final class CLICraftedRepository {
        let repository: Repository
        let saver: BlobSaver
        let cipher: Cipher

        init(path: String, password: String) async throws {
            repository = try await Repository.initialize(backend: LocalBackend(path: path), password: Array(password.utf8))
            saver = BlobSaver(repository: repository, index: MasterIndex())
            cipher = Cipher(key: repository.masterKey)
        }

        func blob(_ type: BlobType, _ bytes: [UInt8]) throws -> ID {
            let id = SHA256.hash(bytes)
            _ = try bytes.withUnsafeBytes { try saver.save(type, id: id, plaintext: $0, cipher: cipher) }
            return id
        }

        func file(_ name: [UInt8], _ text: String) throws -> Node {
            var node = Node(name: name, type: .file, mode: 0o644, mtime: .now(), atime: .now(), ctime: .now())
            node.content = [try blob(.data, Array(text.utf8))]
            node.size = UInt64(text.utf8.count)
            return node
        }

        func dir(_ name: [UInt8], _ children: [Node]) throws -> Node {
            var node = Node(name: name, type: .dir, mode: GoFileMode.dir | 0o755, mtime: .now(), atime: .now(), ctime: .now())
            node.subtree = try tree(children)
            return node
        }

        func symlink(_ name: [UInt8], to target: String) -> Node {
            var node = Node(name: name, type: .symlink, mode: GoFileMode.symlink | 0o777, mtime: .now(), atime: .now(), ctime: .now())
            node.linkTarget = Array(target.utf8)
            return node
        }

        /// Stores a tree blob with exactly these nodes (sorted by name, as restic requires).
        func tree(_ nodes: [Node]) throws -> ID {
            var t = Tree(nodes: nodes)
            t.sort()
            return try blob(.tree, t.encoded())
        }

        /// Uploads the packs, writes the index and a snapshot of `root`.
        func snapshot(_ root: ID, time: Int64) async throws -> ID {
            try saver.flush(cipher: cipher)
            saver.finishInput()
            try await saver.runUploads()
            _ = try await saver.writeIndex()
            return try await repository.saveSnapshot(Snapshot(time: Timestamp(seconds: time), tree: root, paths: ["/crafted"]))
        }
    }

    /// Names that must never be joined to the target path.
    static let hostileTrees: [(String, @Sendable (CLICraftedRepository, String) throws -> [Node])] = [
        ("dot-dot directory", { r, _ in [try r.file(Array("ok.txt".utf8), "fine"), try r.dir(Array("..".utf8), [try r.file(Array("escaped.txt".utf8), "pwned")])] }),
        ("dot-dot file", { r, _ in [try r.file(Array("..".utf8), "pwned")] }),
        ("name with a slash", { r, _ in [try r.file(Array("../escaped.txt".utf8), "pwned")] }),
        ("nested name with a slash", { r, _ in [try r.dir(Array("a".utf8), [try r.file(Array("b/../../../escaped.txt".utf8), "pwned")])] }),
        ("a/b", { r, _ in [try r.file(Array("a/b".utf8), "pwned")] }),
        ("absolute name", { r, outside in [try r.file(Array((outside + "/escaped.txt").utf8), "pwned")] }),
        ("/etc/evil", { r, _ in [try r.file(Array("/etc/evil".utf8), "pwned")] }),
        ("dot directory", { r, _ in [try r.dir(Array(".".utf8), [try r.file(Array("x.txt".utf8), "pwned")])] }),
        ("empty name", { r, _ in [try r.file([], "pwned")] }),
        ("NUL in name", { r, _ in [try r.file(Array("a\u{0}b".utf8), "pwned")] }),
    ]

    @Test(arguments: 0..<hostileTrees.count)
    func restoreRefusesHostileNames(_ which: Int) async throws {
        let (label, build) = Self.hostileTrees[which]
        let w = try CLIWorkspace()
        // The sentinel: a directory that contains the target; nothing may appear in it but the target.
        let outside = w.path("outside")
        let target = outside + "/target"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try w.write("sentinel.txt", "untouched", in: outside)
        let crafted = try await CLICraftedRepository(path: w.repo, password: w.password)
        let root = try crafted.tree(try build(crafted, outside))
        _ = try await crafted.snapshot(root, time: 1_800_000_000)
        let outsideBefore = CLIWorkspace.hashTree(outside)
        let etcEvil = FileManager.default.fileExists(atPath: "/etc/evil")

        let r = try w.lifeboat(["restore", "latest", "--target", target])
        expectCLIFailure(r, code: 1, mentions: ["unsafe file name"])
        #expect(CLIWorkspace.hashTree(outside).filter { !$0.key.hasPrefix("target") } == outsideBefore, "\(label): wrote outside the target")
        #expect(CLIWorkspace.hashTree(target).filter { !$0.key.hasSuffix("/") }.isEmpty, "\(label): restore wrote files before refusing")
        #expect(FileManager.default.fileExists(atPath: "/etc/evil") == etcEvil, "\(label)")
        #expect(!FileManager.default.fileExists(atPath: w.root + "/escaped.txt"), "\(label)")
        #expect(!FileManager.default.fileExists(atPath: outside + "/escaped.txt"), "\(label)")

        // --overwrite, --include and subpaths take the same checks.
        let overwrite = try w.lifeboat(["restore", "latest", "--overwrite", "--target", target])
        expectCLIFailure(overwrite, code: 1, mentions: ["unsafe file name"])
        #expect(CLIWorkspace.hashTree(outside).filter { !$0.key.hasPrefix("target") } == outsideBefore, "\(label): --overwrite wrote outside")
        // check reports the tree, and does not crash on it.
        let check = try w.lifeboat(["check"])
        #expect(check.status == 0 || check.status == 1, "\(check.summary)")
    }

    /// A symlink in the snapshot that points out of the target is restored as a link;
    /// nothing is written through it.
    @Test func symlinkInTheSnapshotIsNotFollowed() async throws {
        let w = try CLIWorkspace()
        let outside = w.path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let target = w.path("target")
        let crafted = try await CLICraftedRepository(path: w.repo, password: w.password)
        let root = try crafted.tree([
            crafted.symlink(Array("a".utf8), to: outside),
            try crafted.file(Array("b.txt".utf8), "inside"),
        ])
        _ = try await crafted.snapshot(root, time: 1_800_000_000)
        try w.ok(["restore", "latest", "--target", target])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/a") == outside)
        #expect(w.read(target + "/b.txt") == Array("inside".utf8))
        #expect(CLIWorkspace.hashTree(outside).isEmpty)
    }

    @Test(arguments: [false, true])
    func symlinkInTheTargetIsNotFollowed(_ overwrite: Bool) throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("x/file", "from the snapshot")
        try w.write("x/sub/deep.txt", "deep")
        try w.backup()
        let outside = w.path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try w.write("mine.txt", "the outside's own file", in: outside)
        let target = w.path("target")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: target + "/x", withDestinationPath: outside)
        let before = CLIWorkspace.hashTree(outside)

        let r = try w.lifeboat(["restore", "latest", "--target", target] + (overwrite ? ["--overwrite"] : []))
        #expect(CLIWorkspace.hashTree(outside) == before, "restore followed target/x out of the target: \(r.summary)")
        #expect(!FileManager.default.fileExists(atPath: outside + "/file"))
        #expect(!FileManager.default.fileExists(atPath: outside + "/sub"))
        if r.status == 0 {
            // Then x must have become a real directory inside the target.
            var st = stat()
            #expect(lstat(target + "/x", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR, "\(r.summary)")
            #expect(w.read(target + "/x/file") == Array("from the snapshot".utf8))
        } else {
            expectCLIFailure(r, code: 1, mentions: ["x"])
        }
    }

    /// The classic attack: a tree holding a symlink `a -> outside` and then a directory `a`
    /// with a file in it (names need not be unique in a crafted tree).
    @Test(arguments: [false, true])
    func duplicateNameSymlinkThenDirectory(_ overwrite: Bool) async throws {
        let w = try CLIWorkspace()
        let outside = w.path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let target = w.path("target")
        let crafted = try await CLICraftedRepository(path: w.repo, password: w.password)
        let link = crafted.symlink(Array("a".utf8), to: outside)
        let dir = try crafted.dir(Array("a".utf8), [try crafted.file(Array("pwned.txt".utf8), "pwned")])
        // Unsorted on purpose: the link comes first.
        let root = try crafted.blob(.tree, Tree(nodes: [link, dir]).encoded())
        _ = try await crafted.snapshot(root, time: 1_800_000_000)

        let r = try w.lifeboat(["restore", "latest", "--target", target] + (overwrite ? ["--overwrite"] : []))
        #expect(CLIWorkspace.hashTree(outside).isEmpty, "restore wrote through a restored symlink: \(r.summary)")
        if r.status != 0 { expectCLIFailure(r, code: 1, mentions: []) }
    }

    /// `dump` of a hostile tree must not produce a tar whose entries escape the extraction directory.
    @Test func dumpDoesNotEmitEscapingTarEntries() async throws {
        let w = try CLIWorkspace()
        let crafted = try await CLICraftedRepository(path: w.repo, password: w.password)
        let root = try crafted.tree([
            try crafted.file(Array("ok.txt".utf8), "fine"),
            try crafted.dir(Array("..".utf8), [try crafted.file(Array("escaped.txt".utf8), "pwned")]),
            try crafted.file(Array("/etc/evil".utf8), "pwned"),
        ])
        _ = try await crafted.snapshot(root, time: 1_800_000_000)
        let tarPath = w.path("out.tar")
        let r = try w.lifeboat(["dump", "latest", "/", "--target", tarPath])
        if r.status == 0 {
            let list = try CLIRunnerTools.run("/usr/bin/tar", ["-tf", tarPath])
            for entry in list.output.split(separator: "\n") {
                let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
                #expect(!entry.hasPrefix("/") && !parts.contains(".."), "tar entry escapes: \(entry)")
            }
        } else {
            expectCLIFailure(r, code: 1, mentions: ["unsafe"])
        }
        // ls shows such a tree without crashing.
        let ls = try w.lifeboat(["ls", "latest", "--recursive"])
        #expect(ls.status == 0 || ls.status == 1, "\(ls.summary)")
    }

    /// A file in the target hard-linked to a file outside: --overwrite must replace the name,
    /// not write into the shared inode.
    @Test func hardLinkInTheTargetIsNotWrittenThrough() throws {
        let w = try CLIWorkspace()
        try w.initialize()
        try w.write("a.txt", "from the snapshot")
        try w.backup()
        let outside = w.path("outside")
        try w.write("a.txt", "outside data", in: outside)
        let target = w.path("target")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        #expect(link(outside + "/a.txt", target + "/a.txt") == 0)
        try w.ok(["restore", "latest", "--overwrite", "--target", target])
        #expect(w.read(target + "/a.txt") == Array("from the snapshot".utf8))
        #expect(w.read(outside + "/a.txt") == Array("outside data".utf8), "restore wrote through a hard link")
    }
}
