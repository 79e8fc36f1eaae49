#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

/// Deterministic pseudo-random bytes (SplitMix64): the same on every run and machine.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                raw.storeBytes(of: next().littleEndian, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            var tail = next()
            while i < count { raw[i] = UInt8(truncatingIfNeeded: tail); tail >>= 8; i += 1 }
        }
        return out
    }
}

/// In-process backup and restore through the library.
@Suite struct ArchiverRestorerTests {
    let temp: TemporaryDirectory
    let repository: Repository
    let source: RawPath

    init() async throws {
        temp = try TemporaryDirectory()
        // A fixed chunker polynomial (restic's fixture's) makes chunk boundaries, and so the
        // dedup figures asserted below, the same on every run.
        repository = try await Repository.initialize(backend: LocalBackend(path: temp.child("repo").display),
                                                     password: Array("pw".utf8),
                                                     chunkerPolynomial: Polynomial(hex: "2e40c93f1b05e1"))
        source = temp.child("src")
        try check("mkdir", source) { mkdir($0, 0o755) }
    }

    func file(_ relative: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        var path = source
        let parts = relative.split(separator: "/").map { Array($0.utf8) }
        for dir in parts.dropLast() {
            path = path.appending(component: dir)
            if !exists(path) { try check("mkdir", path) { mkdir($0, 0o755) } }
        }
        try writeFile(path.appending(component: parts.last!), bytes, mode: mode)
    }

    func backup(_ paths: [String]? = nil) async throws -> BackupSummary {
        var options = BackupOptions(paths: paths ?? [source.display])
        options.hostname = "test-host"
        options.workers = 2
        return try await Archiver(repository: repository).backup(options, index: try await repository.loadIndex())
    }

    /// Restores the source directory of `snapshot` into a fresh target.
    func restore(_ snapshotID: ID, into name: String) async throws -> RawPath {
        let snapshot = try await repository.loadSnapshot(snapshotID)
        let target = temp.child(name)
        var options = RestoreOptions(target: target.display)
        options.subpath = pathComponents(source.bytes)
        options.verify = true
        _ = try await Restorer(repository: repository, index: try await repository.loadIndex())
            .restore(tree: snapshot.tree, options: options)
        return target
    }

    /// The tree ID of the source directory inside a snapshot.
    func sourceTree(_ snapshot: Snapshot) async throws -> ID {
        let index = try await repository.loadIndex()
        var id = snapshot.tree
        for name in pathComponents(source.bytes) {
            id = try #require(try await repository.loadTree(id, index: index).node(named: name)?.subtree)
        }
        return id
    }

    /// Relative path → (type, permission bits, mtime, content or link target) for a whole tree.
    func describe(_ root: RawPath) throws -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ path: RawPath, _ rel: String) throws {
            for name in try Directory.entries(of: path).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let child = path.appending(component: name)
                let relChild = rel + "/" + String(decoding: name, as: UTF8.self)
                let st = try FileStatus.lstat(child)
                var text = "mode=\(String(st.mode, radix: 8)) uid=\(st.uid) gid=\(st.gid)"
                if !st.isDirectory { text += " mtime=\(st.mtime.seconds).\(st.mtime.nanoseconds)" }
                if st.isRegular { text += " links=\(st.links) sha=\(SHA256.hash(try readFile(child)).hex)" }
                if st.isSymlink {
                    var buffer = [CChar](repeating: 0, count: 4096)
                    let n = readlink(child.display, &buffer, buffer.count)
                    text += " -> " + String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                out[relChild] = text
                if st.isDirectory { try walk(child, relChild) }
            }
        }
        try walk(root, "")
        return out
    }

    @Test func backupThenRestoreEqualsSource() async throws {
        var gen = SeededBytes(seed: 1)
        try file("empty", [])
        try file("small.txt", Array("hello\n".utf8))
        try file("exec.sh", Array("#!/bin/sh\n".utf8), mode: 0o750)
        try file("private/key", gen.bytes(3000), mode: 0o600)
        try file("big/random.bin", gen.bytes(2_500_000))
        try file("big/zeros.bin", [UInt8](repeating: 0, count: 1_200_000))
        try check("symlink", source.appending(component: Array("link".utf8))) { symlink("small.txt", $0) }
        try check("link", source.appending(component: Array("hard".utf8))) { link(source.appending(component: Array("small.txt".utf8)).display, $0) }
        try setTimes(source.appending(component: Array("small.txt".utf8)), seconds: 1_600_000_000, nanoseconds: 123_456_789)
        try check("chmod", source.appending(component: Array("private".utf8))) { chmod($0, 0o700) }

        let summary = try await backup()
        #expect(summary.errors.isEmpty)
        #expect(summary.filesNew == 7, "every path of a regular file counts, hard links included")
        #expect(summary.filesNew + summary.filesChanged + summary.filesUnmodified == summary.totalFiles)
        let restored = try await restore(try #require(summary.snapshotID), into: "restored")
        #expect(try describe(restored) == describe(source))
    }

    @Test func incrementalBackupReusesUnchangedFilesWithoutReading() async throws {
        var gen = SeededBytes(seed: 2)
        for i in 0..<8 { try file("d\(i % 3)/f\(i)", gen.bytes(40_000 + i * 7_000)) }
        let first = try await backup()
        #expect(first.filesNew == 8)
        #expect(first.bytesRead > 0)

        let second = try await backup()
        #expect(second.parent == first.snapshotID)
        #expect(second.filesUnmodified == 8 && second.filesNew == 0 && second.filesChanged == 0)
        #expect(second.bytesRead == 0, "unchanged files must not be read")
        #expect(second.saved.dataBlobs == 0)
        // The directories above the source (/tmp …) may change meanwhile; the source's tree may not.
        #expect(try await sourceTree(second.snapshot) == sourceTree(first.snapshot))

        let changed = gen.bytes(33_000)
        try file("d1/f1", changed)
        let third = try await backup()
        #expect(third.filesChanged == 1 && third.filesUnmodified == 7)
        #expect(third.bytesRead == 33_000, "only the changed file is read")
        let restored = try await restore(try #require(third.snapshotID), into: "restored")
        #expect(try describe(restored) == describe(source))
    }

    /// Stores a copy of the tree at `path` below `root`, re-encoded by `transform` (and its
    /// ancestors, which now name it); returns the new root.
    func rewriteTree(_ root: ID, along path: ArraySlice<[UInt8]>, index: MasterIndex, saver: BlobSaver, cipher: Cipher,
                     transform: ([UInt8]) -> [UInt8]) async throws -> ID {
        var tree = try await repository.loadTree(root, index: index)
        let bytes: [UInt8]
        if let name = path.first {
            let i = try #require(tree.nodes.firstIndex { $0.name == name })
            tree.nodes[i].subtree = try await rewriteTree(try #require(tree.nodes[i].subtree), along: path.dropFirst(), index: index,
                                                          saver: saver, cipher: cipher, transform: transform)
            bytes = tree.encoded()
        } else {
            bytes = transform(tree.encoded())
        }
        let id = SHA256.hash(bytes)
        _ = try bytes.withUnsafeBytes { try saver.save(.tree, id: id, plaintext: $0, cipher: cipher) }
        return id
    }

    @Test("a directory whose entries all match the parent's reuses the parent's tree blob as it is, not re-encoded")
    func unchangedDirectoryReusesTheParentTreeBlob() async throws {
        try file("a/one", [1])
        try file("a/b/two", [2, 2])
        let first = try await backup()
        // The same nodes, encoded with a space after the opening brace: another blob ID.
        let index = try await repository.loadIndex()
        let saver = BlobSaver(repository: repository, index: index)
        let cipher = Cipher(key: repository.masterKey)
        let root = try await rewriteTree(first.snapshot.tree, along: ArraySlice(pathComponents(source.bytes)), index: index,
                                         saver: saver, cipher: cipher) { Array("{ ".utf8) + $0.dropFirst() }
        try saver.flush(cipher: cipher)
        saver.finishInput()
        try await saver.runUploads()
        _ = try await saver.writeIndex()
        var parent = first.snapshot
        parent.tree = root
        let parentID = try await repository.saveSnapshot(parent)
        let respelled = try await sourceTree(parent)
        #expect(respelled != (try await sourceTree(first.snapshot)))

        var options = BackupOptions(paths: [source.display])
        options.hostname = "test-host"
        options.workers = 2
        options.parent = parentID
        let second = try await Archiver(repository: repository).backup(options, index: try await repository.loadIndex())
        #expect(second.filesUnmodified == 2)
        #expect(try await sourceTree(second.snapshot) == respelled, "the unchanged source directory was encoded again")

        // A change below it: the directory and its ancestors are encoded afresh.
        try file("a/b/two", [3, 3, 3])
        options.parent = second.snapshotID
        let third = try await Archiver(repository: repository).backup(options, index: try await repository.loadIndex())
        #expect(third.filesChanged == 1)
        #expect(try await sourceTree(third.snapshot) != respelled)
        let restored = try await restore(try #require(third.snapshotID), into: "restored")
        #expect(try describe(restored) == describe(source))
    }

    /// The walker writes a directory's nodes into the prefetcher's node array in place;
    /// entries that yield no node (a socket here) must leave no gap and shift no node.
    @Test("entries without a node leave no gap in the tree, on the first and on an unchanged backup")
    func skippedEntriesLeaveNoGap() async throws {
        try file("d/a", [1])
        try file("d/b/inner", [2])
        try file("d/z", [3, 3])
        // A socket between "b" and "z" in name order.
        let socketPath = source.appending(component: Array("d".utf8)).appending(component: Array("s.sock".utf8))
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: socketPath.bytes + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0, "bind \(socketPath.display)")

        for round in 0..<2 {
            let summary = try await backup()
            #expect(summary.warnings.contains { $0.contains("s.sock") }, "round \(round): the socket was not reported skipped")
            let index = try await repository.loadIndex()
            let d = try #require(try await repository.loadTree(try await sourceTree(summary.snapshot), index: index).node(named: Array("d".utf8)))
            let names = try await repository.loadTree(try #require(d.subtree), index: index).nodes.map(\.displayName)
            #expect(names == ["a", "b", "z"], "round \(round)")
            let restored = try await restore(try #require(summary.snapshotID), into: "restored-\(round)")
            var expected = try describe(source)
            expected["/d/s.sock"] = nil
            #expect(try describe(restored) == expected, "round \(round)")
        }
    }

    @Test func incrementalBackupSeesXattrChangesAndKeepsUntouchedOnes() async throws {
        try file("d/kept", [1, 2, 3])
        try file("d/tagged", [4, 5, 6])
        try setXattr(source.appending(component: Array("d".utf8)).appending(component: Array("kept".utf8)), "user.kept", [7])
        let first = try await backup()
        #expect(first.filesNew == 2)

        try setXattr(source.appending(component: Array("d".utf8)).appending(component: Array("tagged".utf8)), "user.new", [8])  // changes only the ctime
        let second = try await backup()
        let index = try await repository.loadIndex()
        let d = try #require(try await repository.loadTree(sourceTree(second.snapshot), index: index).node(named: Array("d".utf8))?.subtree)
        let tree = try await repository.loadTree(d, index: index)
        #expect(tree.node(named: Array("kept".utf8))?.extendedAttributes == [.init(name: "user.kept", value: [7])])
        #expect(tree.node(named: Array("tagged".utf8))?.extendedAttributes == [.init(name: "user.new", value: [8])])
    }

    @Test func identicalChunksAreStoredOnceAcrossFiles() async throws {
        var gen = SeededBytes(seed: 3)
        let shared = gen.bytes(6 << 20)
        try file("a.bin", shared)
        try file("copy/a.bin", shared)
        let first = try await backup()
        let stored = first.saved.bytesAdded
        #expect(first.totalBytes == 12 << 20)
        #expect(stored < (6 << 20) + (32 << 10), "an identical file adds no data (added \(stored))")

        // A shifted copy shares most chunks: content-defined boundaries resynchronise.
        try file("shifted.bin", gen.bytes(100_003) + shared + gen.bytes(5_000))
        let second = try await backup()
        #expect(second.saved.bytesAdded < UInt64(6 << 20) / 2, "shifted copy added \(second.saved.bytesAdded) bytes")
        let restored = try await restore(try #require(second.snapshotID), into: "restored")
        #expect(try describe(restored) == describe(source))
    }

    @Test("runs of zeros are counted, not kept, and each file gets the plain chunker's cuts and IDs")
    func zeroRunsGiveThePlainChunkersBlobs() async throws {
        var gen = SeededBytes(seed: 0x2E60)
        let mib = 1 << 20
        func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }
        var oneByte = zeros(12 * mib)
        oneByte[9 * mib + 123] = 7
        let files: [(String, [UInt8])] = [
            ("all-zero.img", zeros(20 * mib)),          // maximum-size chunks of zeros, then a short one
            ("zeros-inside.img", gen.bytes(mib) + zeros(17 * mib) + gen.bytes(mib)),
            ("one-byte.img", oneByte),                  // counted zeros written out before the byte
            ("short-zeros.img", zeros(300 << 10)),      // below the minimum chunk size
            ("zero-tail.img", gen.bytes(3 * mib) + zeros(8 * mib + 12_345)),
            ("zero-head.img", zeros(9 * mib + 1) + gen.bytes(2 * mib)),
            ("empty.img", []),
        ]
        for (name, bytes) in files { try file(name, bytes) }
        let snapshotID = try #require(try await backup().snapshotID)
        let index = try await repository.loadIndex()
        let tree = try await repository.loadTree(try await sourceTree(try await repository.loadSnapshot(snapshotID)), index: index)
        for (name, bytes) in files {
            var chunker = Chunker(gear: repository.gear)
            var expected: [ID] = []
            bytes.withUnsafeBytes { raw in
                var start = 0
                while start < raw.count {
                    let n = chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: raw[start...])) ?? raw.count - start
                    expected.append(SHA256.hash(UnsafeRawBufferPointer(rebasing: raw[start..<start + n])))
                    start += n
                }
            }
            #expect(try #require(tree.node(named: Array(name.utf8))).content == expected, "\(name)")
        }
        let restored = try await restore(snapshotID, into: "restored")
        #expect(try describe(restored) == describe(source))
    }

    @Test func smallFilesBatchedAcrossDirectoriesRestoreExactly() async throws {
        // More files than one batch holds (256), more bytes than one batch holds (1 MiB),
        // and sizes around the chunker's minimum (512 KiB), where the batch path ends.
        var gen = SeededBytes(seed: 4)
        let minimum = 512 << 10
        var expectedChunks = Set<ID>()
        for i in 0..<700 {
            let bytes = gen.bytes(Int(gen.next() % 9_000))
            try file("d\(i % 13)/s\(i)", bytes)
            if !bytes.isEmpty { expectedChunks.insert(SHA256.hash(bytes)) }
        }
        for (name, size) in [("edge-1", minimum - 1), ("edge", minimum), ("edge+1", minimum + 1), ("empty", 0)] {
            try file("edges/\(name)", gen.bytes(size))
        }
        try file("d0/dup", try readFile(source.appending(component: Array("d1".utf8)).appending(component: Array("s1".utf8))))
        let summary = try await backup()
        #expect(summary.errors.isEmpty)
        #expect(summary.filesNew == 705)
        #expect(summary.bytesRead == summary.totalBytes)
        let restored = try await restore(try #require(summary.snapshotID), into: "restored")
        #expect(try describe(restored) == describe(source))
        // Each small file is one chunk named by its content: the batch changed no boundaries.
        let index = try await repository.loadIndex()
        for id in expectedChunks { #expect(index.contains(id, type: .data)) }
        let edge = try #require(try await repository.loadTree(try await sourceTree(summary.snapshot), index: index)
            .node(named: Array("edges".utf8))?.subtree)
        let edgeTree = try await repository.loadTree(edge, index: index)
        #expect(edgeTree.node(named: Array("edge-1".utf8))?.content?.count == 1)
        #expect(edgeTree.node(named: Array("empty".utf8))?.content == [])
    }

    @Test("small batches, each planned while the one before is restored (and O_DIRECT writes), give the same tree and counts as one batch")
    func restoreInManySmallBatches() async throws {
        var gen = SeededBytes(seed: 9)
        for i in 0..<60 { try file("d\(i % 4)/f\(i)", gen.bytes(Int(gen.next() % 5_000) + 1)) }
        try file("d2/empty", [])
        try file("z/last", gen.bytes(100))
        // "z" sorts last: its hard links point at files restored in earlier batches.
        for i in stride(from: 0, to: 60, by: 7) {
            try check("link", source.appending(component: Array("z".utf8)).appending(component: Array("l\(i)".utf8))) {
                link(source.appending(component: Array("d\(i % 4)".utf8)).appending(component: Array("f\(i)".utf8)).display, $0)
            }
        }
        try check("symlink", source.appending(component: Array("d3".utf8)).appending(component: Array("sym".utf8))) { symlink("f3", $0) }
        let backup = try await backup()
        let snapshot = try await repository.loadSnapshot(try #require(backup.snapshotID))
        let index = try await repository.loadIndex()

        func restore(batchSize: Int, into name: String) async throws -> (RestoreSummary, RawPath) {
            var options = RestoreOptions(target: temp.child(name).display)
            options.subpath = pathComponents(source.bytes)
            options.verify = true
            options.batchSize = batchSize
            options.directWriteMinimumSize = batchSize < 10 ? 0 : nil  // small batches also write every file O_DIRECT
            let summary = try await Restorer(repository: repository, index: index).restore(tree: snapshot.tree, options: options)
            return (summary, temp.child(name))
        }
        let (whole, wholeTarget) = try await restore(batchSize: 10_000, into: "whole")
        let (batched, batchedTarget) = try await restore(batchSize: 3, into: "batched")
        #expect(try describe(batchedTarget) == describe(source))
        #expect(try describe(wholeTarget) == describe(source))
        #expect(batched.files == whole.files && batched.files == 71)
        #expect(batched.verifiedFiles == whole.verifiedFiles && batched.verifiedFiles > 0)
        #expect(batched.directories == whole.directories && batched.otherItems == whole.otherItems)
        #expect(batched.warnings.isEmpty)
    }

    // MARK: - Glob patterns

    static let globTable: [(pattern: String, caseInsensitive: Bool, path: String, matches: Bool)] = [
        ("*.log", false, "/var/log/x.log", true),
        ("*.log", false, "/x.log", true),
        ("*.log", false, "/var/x.logs", false),
        ("*.log", false, "/var/log", false),
        ("/abs/anchored", false, "/abs/anchored", true),
        ("/abs/anchored", false, "/x/abs/anchored", false),
        ("abs/anchored", false, "/x/abs/anchored", true),
        ("/abs/*", false, "/abs/file", true),
        ("/abs/*", false, "/other/file", false),
        ("**/x", false, "/x", true),
        ("**/x", false, "/a/b/c/x", true),
        ("**/x", false, "/a/b/y", false),
        ("/a/**/z", false, "/a/z", true),
        ("/a/**/z", false, "/a/b/c/z", true),
        ("/a/**/z", false, "/b/a/z", false),
        ("a/*/b", false, "/a/x/b", true),
        ("a/*/b", false, "/r/a/x/b", true),
        ("a/*/b", false, "/a/x/y/b", false),
        ("a/*/b", false, "/a/b", false),
        ("*.TMP", true, "/x/build.tmp", true),
        ("*.TMP", false, "/x/build.tmp", false),
        ("/Home/*", true, "/home/user", true),
        ("/Home/*", false, "/home/user", false),
        ("?.txt", false, "/a.txt", true),
        ("?.txt", false, "/ab.txt", false),
        ("[ab].txt", false, "/b.txt", true),
        ("[ab].txt", false, "/c.txt", false),
        ("*", false, "/anything", true),
    ]

    @Test(arguments: 0..<globTable.count)
    func globPatternSemantics(_ row: Int) {
        let c = Self.globTable[row]
        let pattern = GlobPattern(c.pattern, caseInsensitive: c.caseInsensitive)
        #expect(pattern.matches(pathComponents(Array(c.path.utf8))) == c.matches,
                "\(c.pattern)\(c.caseInsensitive ? " (ignoring case)" : "") vs \(c.path)")
    }

    @Test func globMayMatchBelow() {
        let anchored = GlobPattern("/a/b/c")
        #expect(anchored.mayMatchBelow([Array("a".utf8)]))
        #expect(anchored.mayMatchBelow([Array("a".utf8), Array("b".utf8)]))
        #expect(!anchored.mayMatchBelow([Array("x".utf8)]))
        #expect(GlobPattern("c").mayMatchBelow([Array("x".utf8)]))
        #expect(!GlobPattern("").matches([Array("x".utf8)]))
    }

    // MARK: - Chunker

    static let gear = GearTable(seed: "2e40c93f1b05e1")

    static let chunkerData: [UInt8] = {
        var gen = SeededBytes(seed: 0x5EED_C0DE_2026)
        return gen.bytes(20 << 20)
    }()

    /// Cut offsets for `data` fed in pieces of the given sizes (cycled).
    static func cuts(_ data: [UInt8], pieces: [Int]) -> [Int] {
        var chunker = Chunker(gear: gear, parameters: .standard)
        var cuts: [Int] = []
        var chunkStart = 0
        var position = 0
        var p = 0
        data.withUnsafeBytes { raw in
            while position < raw.count {
                let end = min(raw.count, position + pieces[p % pieces.count])
                p += 1
                var offset = position
                while offset < end {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<end])
                    if let n = chunker.nextBoundary(in: slice) {
                        offset += n
                        cuts.append(offset)
                        chunkStart = offset
                    } else {
                        offset = end
                    }
                }
                position = end
            }
        }
        _ = chunkStart
        return cuts
    }

    /// Recorded once from this implementation; must never change (it would break dedup
    /// against every existing repository).
    static let goldenCuts: [Int] = [
        1_249_298, 2_929_915, 4_166_073, 5_575_221, 6_384_653, 7_546_301, 8_925_031, 10_123_923,
        11_293_213, 12_545_068, 13_601_670, 14_870_714, 16_380_925, 17_600_372, 18_741_112, 20_551_262,
    ]

    @Test func chunkerGoldenVector() {
        let cuts = Self.cuts(Self.chunkerData, pieces: [Self.chunkerData.count])
        #expect(cuts == Self.goldenCuts, "cuts: \(cuts)")
    }

    @Test func chunkerRespectsSizeBounds() {
        let cuts = Self.cuts(Self.chunkerData, pieces: [Self.chunkerData.count])
        let p = ChunkerParameters.standard
        var previous = 0
        for cut in cuts {
            #expect(cut - previous >= p.minSize && cut - previous <= p.maxSize, "chunk \(previous)..<\(cut)")
            previous = cut
        }
        #expect(Self.chunkerData.count - previous <= p.maxSize)
        let average = Self.chunkerData.count / (cuts.count + 1)
        #expect(average > 700 << 10 && average < 1600 << 10, "average chunk \(average)")

        // Zeros never match the mask: every chunk is cut at the maximum.
        let zeros = [UInt8](repeating: 0, count: 20 << 20)
        #expect(Self.cuts(zeros, pieces: [1 << 20]) == [8 << 20, 16 << 20])
    }

    @Test(arguments: [[1 << 20], [65_536], [7_777], [1_000_003, 13, 524_287], [4096, 1]])
    func chunkerCutsDoNotDependOnPieceSizes(_ pieces: [Int]) {
        let whole = Self.cuts(Self.chunkerData, pieces: [Self.chunkerData.count])
        #expect(Self.cuts(Self.chunkerData, pieces: pieces) == whole)
    }

    @Test func chunkerResetStartsOver() {
        let data = Array(Self.chunkerData.prefix(3 << 20))
        var chunker = Chunker(gear: Self.gear)
        data.withUnsafeBytes { _ = chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: $0[0..<300_000])) }
        chunker.reset()
        var first: Int?
        data.withUnsafeBytes { first = chunker.nextBoundary(in: $0) }
        #expect(first == Self.cuts(data, pieces: [data.count]).first)
    }
}
