public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// One finding of `check`.
public struct CheckProblem: Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, hint }
    public var severity: Severity
    public var message: String
    /// The snapshots the problem affects (empty for problems of the storage itself).
    public var snapshots: [ID] = []
    public var description: String { message }
}

public struct CheckOptions: Sendable {
    public var readData = false
    /// Read only part of the packs: subset `n` of `m` (1-based), or a fraction.
    public var subset: DataSubset?
    public init() {}
}

public enum DataSubset: Sendable, Equatable {
    case part(Int, of: Int)
    case fraction(Double)

    /// Parses `n/m` or `P%`.
    public init?(parsing text: String) {
        if text.hasSuffix("%"), let p = Double(text.dropLast()), p > 0, p <= 100 {
            self = .fraction(p / 100)
        } else {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]), m >= 1, n >= 1, n <= m else { return nil }
            self = .part(n, of: m)
        }
    }

    func includes(_ pack: ID) -> Bool {
        switch self {
        case .part(let n, let m): return Int(pack.w0 >> 32) % m == n - 1   // stable: the same packs every time
        case .fraction(let f): return Double(pack.w0 >> 11) / Double(1 << 53) < f
        }
    }
}

public struct CheckReport: Sendable {
    public var problems: [CheckProblem] = []
    public var snapshots = 0
    public var trees = 0
    public var packs = 0
    public var packsRead = 0
    public var errors: Int { problems.filter { $0.severity == .error }.count }
}

/// Verifies a repository's structure and, optionally, every byte of its packs.
public struct Checker: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    /// What `check` reads before it verifies anything: the snapshot, index and pack listings
    /// and the index files. Read-only, so it can run while the lock is being confirmed.
    public struct Listing: Sendable {
        let snapshotNames: [String]
        let indexIDs: [ID]
        let indexFiles: [Result<IndexFile, LifeboatError>]
        let packs: [(name: String, size: Int)]
    }

    public func list() async throws -> Listing {
        // Snapshots before the index: a snapshot written meanwhile names blobs of a newer index.
        let snapshotNames = try await repository.backend.list(.snapshot).map(\.name)
        let indexIDs = try await repository.backend.list(.index).compactMap { ID(hex: $0.name) }
        let repository = self.repository
        // Listed after the index names, so every pack they name is already stored; read
        // while the index files load.
        async let packListing = repository.backend.list(.pack)
        let indexFiles = try await concurrentMap(indexIDs, limit: 8) { id -> Result<IndexFile, LifeboatError> in
            do { return .success(try await repository.loadIndexFile(id)) }
            catch let error as LifeboatError { return .failure(error) }
        }
        return Listing(snapshotNames: snapshotNames, indexIDs: indexIDs, indexFiles: indexFiles, packs: try await packListing)
    }

    public func check(_ options: CheckOptions) async throws -> CheckReport {
        try await check(options, listing: try await list())
    }

    public func check(_ options: CheckOptions, listing: Listing) async throws -> CheckReport {
        var report = CheckReport()
        let snapshotNames = listing.snapshotNames
        var index = MasterIndex()
        var indexed: [ID: IndexFile.Pack] = [:]
        let repository = self.repository
        for (id, loaded) in zip(listing.indexIDs, listing.indexFiles) {
            do {
                let file = try loaded.get()
                index.add(file)
                for pack in file.packs {
                    if indexed[pack.id] != nil {
                        report.problems.append(.init(severity: .hint, message: "pack \(pack.id.short) is listed in several index files"))
                    }
                    indexed[pack.id] = pack
                }
            } catch {
                report.problems.append(.init(severity: .error, message: "index \(id.short): \(message(error))"))
            }
        }

        let stored = Dictionary(listing.packs.compactMap { e in ID(hex: e.name).map { ($0, e.size) } },
                                uniquingKeysWith: { a, _ in a })
        report.packs = stored.count
        for (id, pack) in indexed {
            guard let size = stored[id] else {
                report.problems.append(.init(severity: .error, message: "pack \(id.short) is named in the index but does not exist"))
                continue
            }
            let expected = Self.expectedSize(of: pack)
            if size != expected {
                report.problems.append(.init(severity: .error, message: "pack \(id.short) is \(size) bytes, the index implies \(expected)"))
            }
        }
        for id in stored.keys where indexed[id] == nil {
            report.problems.append(.init(severity: .hint, message: "pack \(id.short) is not referenced by any index (prune removes it)"))
        }

        // Packs that are gone or have the wrong size: their blobs are lost unless stored twice.
        var badPacks = Set<ID>()
        for (id, pack) in indexed where stored[id] == nil || stored[id] != Self.expectedSize(of: pack) { badPacks.insert(id) }
        var damagedBlobs: [BlobKeyPair: String] = [:]

        if options.readData {
            let packs = indexed.values.filter { stored[$0.id] != nil && (options.subset?.includes($0.id) ?? true) }
            // Reading is I/O, verifying is CPU: two threads more than the cores keep reads
            // queued while every core verifies (measured: 2-core cold cache, 3 threads 6.6 s,
            // 4 threads 5.8 s, 6 threads no faster); remote backends want their connections
            // busy. Each thread holds a pack and two blob buffers, so more only costs memory.
            let threads = max(activeProcessorCount() + 2, repository.backend.connections)
            let packList = Array(packs)
            let results = await threadPoolMap(packList, threads: threads) { pack in Self.readPack(pack, repository: repository) }
            try Task.checkCancellation()
            report.packsRead = packs.count
            for result in results.compactMap({ $0 }) {
                report.problems += result.problems
                if result.wholePackBad { badPacks.insert(result.pack) }
                for blob in result.damaged { damagedBlobs[BlobKeyPair(id: blob.id, type: blob.type)] = "pack \(result.pack.short)" }
            }
        }

        // Walk every snapshot; problems found in a tree are remembered relative to it, so a
        // tree shared by many snapshots is read once and its damage reported for each.
        var walker = TreeDamageWalker(repository: repository, index: index, badPacks: badPacks, damagedBlobs: damagedBlobs)
        var affected: [String: [ID]] = [:]
        var order: [String] = []
        let ids = snapshotNames.compactMap { ID(hex: $0) }
        let loaded = try await concurrentMap(ids, limit: 8) { id -> (ID, Result<Snapshot, LifeboatError>) in
            do { return (id, .success(try await repository.loadSnapshot(id))) }
            catch let error as LifeboatError { return (id, .failure(error)) }
        }
        var roots: [ID] = []
        for case (_, .success(let snapshot)) in loaded { roots.append(snapshot.tree) }
        try await walker.prefetch(roots)
        for (id, outcome) in loaded {
            try Task.checkCancellation()
            report.snapshots += 1
            do {
                let snapshot = try outcome.get()
                for finding in try await walker.problems(in: snapshot.tree, name: "") {
                    if affected[finding] == nil { order.append(finding) }
                    affected[finding, default: []].append(id)
                }
            } catch {
                report.problems.append(.init(severity: .error, message: "snapshot \(id.short): \(message(error))"))
            }
        }
        for finding in order {
            let ids = affected[finding]!
            let names = ids.prefix(10).map(\.short).joined(separator: ", ") + (ids.count > 10 ? " and \(ids.count - 10) more" : "")
            report.problems.append(.init(severity: .error, message: "\(finding) (snapshot\(ids.count == 1 ? "" : "s") \(names))",
                                         snapshots: ids))
        }
        report.trees = walker.treesRead
        return report
    }

    static func expectedSize(of pack: IndexFile.Pack) -> Int {
        pack.blobs.reduce(4 + Cipher.overhead) { total, blob in
            total + Int(blob.length) + PackHeader.entrySize(compressed: blob.uncompressedLength != 0)
        }
    }

    struct PackReadResult: Sendable {
        var pack: ID
        var problems: [CheckProblem] = []
        /// Blobs that failed verification.
        var damaged: [IndexFile.Blob] = []
        /// The pack could not be read at all.
        var wholePackBad = false
    }

    /// What one reading thread needs: a pack-sized buffer, blob buffers and a zstd context,
    /// reused across packs so verifying touches no fresh pages.
    final class PackReadState: @unchecked Sendable {
        var pack: [UInt8] = []
        var blobs = BlobCodec.Buffers()
        let decompressor = ZstdDecompressor()
    }

    static let readStates = Locked<[PackReadState]>([])

    /// Reads one pack completely: its hash, header, and every blob (on a blocking thread:
    /// the read and the verification both run there, without task hops).
    static func readPack(_ pack: IndexFile.Pack, repository: Repository) -> PackReadResult {
        let state = readStates.withLock { $0.popLast() } ?? PackReadState()
        defer { readStates.withLock { $0.append(state) } }
        do {
            return try repository.backend.withWholeFile(FileHandle(.pack, pack.id), buffer: &state.pack) { bytes in
                verify(pack, bytes, repository: repository, decompressor: state.decompressor, buffers: &state.blobs)
            }
        } catch {
            var result = PackReadResult(pack: pack.id)
            result.problems = [CheckProblem(severity: .error, message: "pack \(pack.id.short): \(message(error))")]
            result.wholePackBad = true
            return result
        }
    }

    static func verify(_ pack: IndexFile.Pack, _ bytes: UnsafeRawBufferPointer, repository: Repository,
                       decompressor: ZstdDecompressor, buffers: inout BlobCodec.Buffers) -> PackReadResult {
        let name = "pack \(pack.id.short)"
        var result = PackReadResult(pack: pack.id)
        let cipher = Cipher(key: repository.masterKey)
        // True when the header, read and matching the index, accounts for every byte.
        var headerCoversPack = false
        do {
            guard bytes.count >= 4 else { throw LifeboatError(.corrupt, "pack is \(bytes.count) bytes, too short for a header") }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self)))
            guard length >= Cipher.overhead, length <= bytes.count - 4, length <= PackReader.maxHeaderLength else {
                throw LifeboatError(.corrupt, "pack header length \(length) is invalid for a pack of \(bytes.count) bytes")
            }
            let header = try PackHeader.decode(cipher.open(Array(bytes[(bytes.count - 4 - length)..<(bytes.count - 4)])))
            let fromHeader = header.map {
                IndexFile.Blob(id: $0.id, type: $0.type, offset: $0.offset, length: $0.length, uncompressedLength: $0.uncompressedLength)
            }
            if fromHeader != pack.blobs.sorted(by: { $0.offset < $1.offset }) {
                result.problems.append(CheckProblem(severity: .error, message: "\(name): header does not match the index"))
            } else {
                let blobBytes = header.reduce(0) { $0 + Int($1.length) }
                headerCoversPack = blobBytes + length + 4 == bytes.count
            }
        } catch {
            result.problems.append(CheckProblem(severity: .error, message: "\(name): header: \(message(error))"))
        }
        for blob in pack.blobs {
            let end = Int(blob.offset) + Int(blob.length)
            guard end <= bytes.count else {
                result.problems.append(CheckProblem(severity: .error, message: "\(name): blob \(blob.id.short) lies beyond the end"))
                result.damaged.append(blob)
                continue
            }
            let location = BlobLocation(pack: pack.id, type: blob.type, offset: blob.offset, length: blob.length,
                                        uncompressedLength: blob.uncompressedLength)
            do {
                try BlobCodec.open(UnsafeRawBufferPointer(rebasing: bytes[Int(blob.offset)..<end]), id: blob.id,
                                   location: location, cipher: cipher, decompressor: decompressor,
                                   buffers: &buffers) { _ in }
            } catch {
                result.problems.append(CheckProblem(severity: .error, message: "\(name): \(message(error))"))
                result.damaged.append(blob)
            }
        }
        // A pack whose header covers it and whose blobs all passed their MACs has no byte
        // left unauthenticated, so hashing it again proves nothing (and costs a third of
        // the CPU of --read-data). Anything odd: hash it, as restic does.
        if !(headerCoversPack && result.problems.isEmpty), SHA256.hash(bytes) != pack.id {
            result.problems.insert(CheckProblem(severity: .error, message: "\(name): content does not match its name (damaged)"), at: 0)
        }
        return result
    }
}

struct BlobKeyPair: Hashable, Sendable {
    var id: ID
    var type: BlobType
}

/// Finds, per tree, the files and directories whose data is missing or damaged; results
/// are kept per tree ID with paths relative to it.
struct TreeDamageWalker {
    let repository: Repository
    let index: MasterIndex
    let badPacks: Set<ID>
    let damagedBlobs: [BlobKeyPair: String]
    private var memo: [ID: [String]] = [:]
    /// Trees loaded ahead, many at once; those that fail to load are read again (and reported) by the walk.
    private var cache: [ID: Tree] = [:]
    private(set) var treesRead = 0

    /// Loads every tree reachable from `roots`, level by level, many at a time.
    mutating func prefetch(_ roots: [ID]) async throws {
        var level = Array(Set(roots.filter { trouble($0, .tree) == nil }))
        var seen = Set(level)
        let repository = self.repository, index = self.index
        while !level.isEmpty {
            try Task.checkCancellation()
            let trees = await threadPoolMap(level, threads: 8) { id in (id, try? repository.loadTreeBlocking(id, index: index)) }
            var next: [ID] = []
            for case let (id, tree?)? in trees {
                cache[id] = tree
                for node in tree.nodes {
                    if let sub = node.subtree, trouble(sub, .tree) == nil, seen.insert(sub).inserted { next.append(sub) }
                }
            }
            level = next
        }
    }

    init(repository: Repository, index: MasterIndex, badPacks: Set<ID>, damagedBlobs: [BlobKeyPair: String]) {
        self.repository = repository; self.index = index; self.badPacks = badPacks; self.damagedBlobs = damagedBlobs
    }

    private static let missing = "is missing (not in any index)"

    /// Why a blob cannot be read, or nil if an intact copy exists.
    func trouble(_ id: ID, _ type: BlobType) -> String? {
        // The common case, without collecting every copy's location.
        if badPacks.isEmpty && damagedBlobs.isEmpty { return index.contains(id, type: type) ? nil : Self.missing }
        let copies = index.lookupAll(id, type: type)
        if copies.isEmpty { return Self.missing }
        let good = copies.filter { !badPacks.contains($0.pack) }
        if good.isEmpty { return "is lost (pack \(copies[0].pack.short) is missing or truncated)" }
        if let where_ = damagedBlobs[BlobKeyPair(id: id, type: type)], good.allSatisfy({ "pack \($0.pack.short)" == where_ }) {
            return "is damaged in \(where_)"
        }
        return nil
    }

    /// Problems in tree `id`, which sits at `name` ("" for a snapshot's root), as messages
    /// with absolute-from-this-tree paths.
    mutating func problems(in id: ID, name: String) async throws -> [String] {
        let relative = try await relativeProblems(id)
        let prefix = name.isEmpty ? "/" : name
        return relative.map { $0.replacingPlaceholder(with: prefix) }
    }

    private mutating func relativeProblems(_ id: ID) async throws -> [String] {
        if let known = memo[id] { return known }
        var out: [String] = []
        if let why = trouble(id, .tree) {
            out.append("directory \u{1}: tree \(id.short) \(why)")
            memo[id] = out
            return out
        }
        let tree: Tree
        do {
            if let cached = cache.removeValue(forKey: id) { tree = cached } else { tree = try await repository.loadTree(id, index: index) }
            treesRead += 1
        } catch {
            out.append("directory \u{1}: tree \(id.short) cannot be read: \(message(error))")
            memo[id] = out
            return out
        }
        for node in tree.nodes {
            let child = node.displayName
            switch node.type {
            case .dir:
                guard let subtree = node.subtree else {
                    out.append("directory \u{1}\(child) has no subtree")
                    continue
                }
                for p in try await relativeProblems(subtree) { out.append(p.replacingPlaceholder(with: "\u{1}\(child)/")) }
            case .file:
                guard let content = node.content else {
                    out.append("file \u{1}\(child) has no content list")
                    continue
                }
                var bad: [String] = []
                for blob in content { if let why = trouble(blob, .data) { bad.append("data blob \(blob.short) \(why)") } }
                if !bad.isEmpty {
                    let shown = bad.prefix(3).joined(separator: "; ") + (bad.count > 3 ? "; and \(bad.count - 3) more" : "")
                    out.append("file \u{1}\(child): \(shown)")
                }
            default:
                break
            }
        }
        memo[id] = out
        return out
    }
}

extension String {
    /// Replaces the path placeholder (U+0001) with `prefix`, joining slashes cleanly.
    func replacingPlaceholder(with prefix: String) -> String {
        guard let r = firstIndex(of: "\u{1}") else { return self }
        let joined = String(self[..<r]) + prefix + String(self[index(after: r)...])
        var result = ""
        for ch in joined where !(ch == "/" && result.last == "/") { result.append(ch) }
        return result
    }
}

func activeProcessorCount() -> Int {
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}

/// Reads pack headers without the index.
public enum PackReader {
    public static let maxHeaderLength = 16 << 20

    public static func header(of pack: [UInt8], cipher: Cipher) throws -> [PackBlobEntry] {
        guard pack.count >= 4 else { throw LifeboatError(.corrupt, "pack is \(pack.count) bytes, too short for a header") }
        let length = pack.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: pack.count - 4, as: UInt32.self))) }
        guard length >= Cipher.overhead, length <= pack.count - 4, length <= maxHeaderLength else {
            throw LifeboatError(.corrupt, "pack header length \(length) is invalid for a pack of \(pack.count) bytes")
        }
        let sealed = Array(pack[(pack.count - 4 - length)..<(pack.count - 4)])
        return try PackHeader.decode(cipher.open(sealed))
    }
}

func message(_ error: any Error) -> String {
    (error as? LifeboatError)?.message ?? "\(error)"
}
