public import LifeboatCore

/// One finding of `check`.
public struct CheckProblem: Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, hint }
    public var severity: Severity
    public var message: String
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

    public func check(_ options: CheckOptions) async throws -> CheckReport {
        var report = CheckReport()
        // Snapshots before the index: a snapshot written meanwhile names blobs of a newer index.
        let snapshotNames = try await repository.backend.list(.snapshot).map(\.name)
        var index = MasterIndex()
        var indexed: [ID: IndexFile.Pack] = [:]
        for entry in try await repository.backend.list(.index) {
            guard let id = ID(hex: entry.name) else { continue }
            do {
                let file = try await repository.loadIndexFile(id)
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

        let stored = Dictionary(try await repository.backend.list(.pack).compactMap { e in ID(hex: e.name).map { ($0, e.size) } },
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

        var seenTrees = Set<ID>()
        for name in snapshotNames {
            guard let id = ID(hex: name) else { continue }
            try Task.checkCancellation()
            report.snapshots += 1
            do {
                let snapshot = try await repository.loadSnapshot(id)
                try await checkTree(snapshot.tree, path: "/", snapshot: id, index: index, seen: &seenTrees, report: &report)
            } catch {
                report.problems.append(.init(severity: .error, message: "snapshot \(id.short): \(message(error))"))
            }
        }
        report.trees = seenTrees.count

        if options.readData {
            let packs = indexed.values.filter { stored[$0.id] != nil && (options.subset?.includes($0.id) ?? true) }
            let repository = self.repository
            let results = try await concurrentMap(Array(packs), limit: max(2, repository.backend.connections)) { pack in
                try Task.checkCancellation()
                return await Self.readPack(pack, repository: repository)
            }
            report.packsRead = packs.count
            for problems in results { report.problems += problems }
        }
        return report
    }

    static func expectedSize(of pack: IndexFile.Pack) -> Int {
        pack.blobs.reduce(4 + Cipher.overhead) { total, blob in
            total + Int(blob.length) + PackHeader.entrySize(compressed: blob.uncompressedLength != 0)
        }
    }

    private func checkTree(_ id: ID, path: String, snapshot: ID, index: MasterIndex, seen: inout Set<ID>,
                           report: inout CheckReport) async throws {
        guard seen.insert(id).inserted else { return }
        let tree: Tree
        do {
            tree = try await repository.loadTree(id, index: index)
        } catch {
            report.problems.append(.init(severity: .error,
                message: "snapshot \(snapshot.short): directory \(path) (tree \(id.short)): \(message(error))"))
            return
        }
        for node in tree.nodes {
            let childPath = path + (path.hasSuffix("/") ? "" : "/") + node.displayName
            switch node.type {
            case .dir:
                guard let subtree = node.subtree else {
                    report.problems.append(.init(severity: .error, message: "snapshot \(snapshot.short): directory \(childPath) has no subtree"))
                    continue
                }
                try await checkTree(subtree, path: childPath, snapshot: snapshot, index: index, seen: &seen, report: &report)
            case .file:
                guard let content = node.content else {
                    report.problems.append(.init(severity: .error, message: "snapshot \(snapshot.short): file \(childPath) has no content list"))
                    continue
                }
                for blob in content where !index.contains(blob, type: .data) {
                    report.problems.append(.init(severity: .error,
                        message: "snapshot \(snapshot.short): file \(childPath): data blob \(blob.short) is missing"))
                }
            default:
                break
            }
        }
    }

    /// Reads one pack completely: its hash, header, and every blob.
    static func readPack(_ pack: IndexFile.Pack, repository: Repository) async -> [CheckProblem] {
        let name = "pack \(pack.id.short)"
        do {
            let bytes = try await repository.backend.load(FileHandle(.pack, pack.id))
            return try await blockingIO {
                var problems: [CheckProblem] = []
                guard SHA256.hash(bytes) == pack.id else {
                    return [CheckProblem(severity: .error, message: "\(name): content does not match its name (damaged)")]
                }
                let cipher = Cipher(key: repository.masterKey)
                let header = try PackReader.header(of: bytes, cipher: cipher)
                let fromIndex = pack.blobs.map { "\($0.id)\($0.type)\($0.offset)\($0.length)\($0.uncompressedLength)" }.sorted()
                let fromHeader = header.map { "\($0.id)\($0.type)\($0.offset)\($0.length)\($0.uncompressedLength)" }.sorted()
                if fromIndex != fromHeader {
                    problems.append(CheckProblem(severity: .error, message: "\(name): header does not match the index"))
                }
                let decompressor = ZstdDecompressor()
                for blob in pack.blobs {
                    let end = Int(blob.offset) + Int(blob.length)
                    guard end <= bytes.count else {
                        problems.append(CheckProblem(severity: .error, message: "\(name): blob \(blob.id.short) lies beyond the end"))
                        continue
                    }
                    let location = BlobLocation(pack: pack.id, type: blob.type, offset: blob.offset, length: blob.length,
                                                uncompressedLength: blob.uncompressedLength)
                    do {
                        _ = try BlobCodec.open(Array(bytes[Int(blob.offset)..<end]), id: blob.id, location: location,
                                               cipher: cipher, decompressor: decompressor)
                    } catch {
                        problems.append(CheckProblem(severity: .error, message: "\(name): \(message(error))"))
                    }
                }
                return problems
            }
        } catch {
            return [CheckProblem(severity: .error, message: "\(name): \(message(error))")]
        }
    }
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
