public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// An open repository: a backend, the master key and the config.
///
/// Holds no mutable state; index and blob writers are separate objects created per
/// operation. Safe to share between tasks.
public final class Repository: Sendable {
    public let backend: any Backend
    public let config: RepositoryConfig
    public let masterKey: CryptoKey
    /// The key file that opened the repository.
    public let keyName: String
    public let gear: GearTable
    /// Reusable cipher and zstd contexts for loading blobs (creating them costs more than
    /// opening a small tree).
    let decoders: DecoderPool

    public var version: Int { config.version }
    public var location: String { backend.location }

    /// scrypt cost for new key files: 32 MiB of memory and about 0.1 s per try.
    public static let defaultKDF = (n: UInt64(1 << 15), r: UInt64(8), p: UInt64(1))
    /// restic stops after this many key files; so do we.
    public static let maxKeyFiles = 20

    init(backend: any Backend, config: RepositoryConfig, masterKey: CryptoKey, keyName: String) {
        self.backend = backend
        self.config = config
        self.masterKey = masterKey
        self.keyName = keyName
        self.gear = GearTable(seed: config.chunkerPolynomial)
        self.decoders = DecoderPool(key: masterKey)
    }

    // MARK: - Init and open

    /// Creates a new repository (format `version`, 2 by default) with one key for `password`.
    /// - Parameter chunkerPolynomial: reuse another repository's chunker parameters (so the
    ///   two cut data at the same places), or fix them for reproducible tests; random if nil.
    /// - Throws: `.repositoryExists` if a config file is already there; `.invalidArgument`
    ///   for a polynomial that is not irreducible of degree 53.
    public static func initialize(backend: any Backend, password: [UInt8], version: Int = 2,
                                  chunkerPolynomial: Polynomial? = nil,
                                  hostname: String = currentHostname(), username: String = currentUsername()) async throws -> Repository {
        if let chunkerPolynomial, chunkerPolynomial.degree != 53 || !chunkerPolynomial.isIrreducible {
            throw LifeboatError(.invalidArgument, "chunker polynomial \(chunkerPolynomial) is not irreducible of degree 53")
        }
        guard version == 1 || version == 2 else {
            throw LifeboatError(.invalidArgument, "repository format version \(version) is not supported", hint: "use 1 or 2")
        }
        if try await backend.exists(.config) {
            throw LifeboatError(.repositoryExists, "a repository already exists at \(backend.location)")
        }
        try await backend.create()
        let masterKey = CryptoKey.random()
        let config = RepositoryConfig(version: version, id: Hex.encode(secureRandomBytes(32)),
                                      chunkerPolynomial: (chunkerPolynomial ?? Polynomial.randomIrreducible()).description)
        let keyFile = try makeKeyFile(masterKey: masterKey, password: password, hostname: hostname, username: username)
        let keyBytes = keyFile.encoded()
        let keyName = SHA256.hash(keyBytes).hex
        // Key before config: a config without a key would be a repository nobody can open.
        try await backend.save(FileHandle(.key, keyName), data: keyBytes)
        try await backend.save(.config, data: Cipher(key: masterKey).seal(config.encoded()))
        return Repository(backend: backend, config: config, masterKey: masterKey, keyName: keyName)
    }

    /// Opens a repository by trying `password` on its key files.
    /// - Throws: `.repositoryNotFound` without a config, `.wrongPassword` if no key opens.
    public static func open(backend: any Backend, password: [UInt8]) async throws -> Repository {
        let configSealed: [UInt8]
        do {
            configSealed = try await backend.load(.config)
        } catch let error as LifeboatError where error.code == .notFound {
            throw LifeboatError(.repositoryNotFound, "there is no repository at \(backend.location)",
                                hint: "check -r/--repo, or create one with `lifeboat init`")
        }
        let keyNames = try await backend.list(.key).map(\.name).sorted()
        guard !keyNames.isEmpty else {
            throw LifeboatError(.corrupt, "the repository at \(backend.location) has no key files")
        }
        for name in keyNames.prefix(maxKeyFiles) {
            let bytes = try await backend.load(FileHandle(.key, name))
            guard let keyFile = try? KeyFile(decoding: bytes) else { continue }
            guard let masterKey = try openKeyFile(keyFile, password: password) else { continue }
            let configPlain: [UInt8]
            do {
                configPlain = try Cipher(key: masterKey).open(configSealed)
            } catch {
                throw LifeboatError(.corrupt, "the config file of \(backend.location) does not decrypt with the master key",
                                    hint: "the repository's config file is damaged")
            }
            let config = try RepositoryConfig(decoding: configPlain)
            guard config.version == 1 || config.version == 2 else {
                throw LifeboatError(.unsupported, "repository format version \(config.version) is not supported (1 and 2 are)")
            }
            guard let polynomial = Polynomial(hex: config.chunkerPolynomial), polynomial.isIrreducible else {
                throw LifeboatError(.corrupt, "the config names an invalid chunker polynomial \(config.chunkerPolynomial)")
            }
            return Repository(backend: backend, config: config, masterKey: masterKey, keyName: name)
        }
        throw LifeboatError(.wrongPassword, "wrong password or no key found for \(backend.location)",
                            hint: "check LIFEBOAT_PASSWORD, --password-file or --password-command")
    }

    static func makeKeyFile(masterKey: CryptoKey, password: [UInt8], hostname: String, username: String) throws -> KeyFile {
        let salt = secureRandomBytes(64)
        let kdf = defaultKDF
        let derived = try Scrypt.derive(password: password, salt: salt, n: kdf.n, r: kdf.r, p: kdf.p)
        let sealed = Cipher(key: CryptoKey(derived: derived)).seal(masterKey.masterKeyJSON())
        return KeyFile(created: .now(), username: username, hostname: hostname, n: kdf.n, r: kdf.r, p: kdf.p,
                       salt: salt, data: sealed)
    }

    /// The master key, or nil if `password` is not this key file's password.
    static func openKeyFile(_ keyFile: KeyFile, password: [UInt8]) throws -> CryptoKey? {
        guard keyFile.kdf == "scrypt" else { return nil }
        guard keyFile.salt.count == 64 else { return nil }
        let derived = try Scrypt.derive(password: password, salt: keyFile.salt, n: keyFile.n, r: keyFile.r, p: keyFile.p)
        guard let plain = try? Cipher(key: CryptoKey(derived: derived)).open(keyFile.data) else { return nil }
        let key = try CryptoKey(masterKeyJSON: plain)
        return key
    }

    // MARK: - Unpacked files (snapshots, index, locks)

    /// Encodes, seals and stores a JSON document; returns its ID (the hash of the stored bytes).
    public func saveUnpacked(_ type: FileType, json: [UInt8]) async throws -> ID {
        let plain = UnpackedFile.encode(json: json, repositoryVersion: version, compressor: ZstdCompressor())
        let sealed = Cipher(key: masterKey).seal(plain)
        let id = SHA256.hash(sealed)
        try await backend.save(FileHandle(type, id), data: sealed)
        return id
    }

    /// Loads, verifies and opens an unpacked file; returns its JSON.
    public func loadUnpacked(_ type: FileType, id: ID) async throws -> [UInt8] {
        let handle = FileHandle(type, id)
        let sealed = try await backend.load(handle)
        guard SHA256.hash(sealed) == id else {
            throw LifeboatError(.corrupt, "\(handle) in \(location) does not match its name (content hash differs)")
        }
        do {
            let plain = try Cipher(key: masterKey).open(sealed)
            return try UnpackedFile.decode(plain, repositoryVersion: version, decompressor: ZstdDecompressor())
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "cannot open \(handle) in \(location): \(error.message)")
        }
    }

    // MARK: - Snapshots

    public func saveSnapshot(_ snapshot: Snapshot) async throws -> ID {
        try await saveUnpacked(.snapshot, json: snapshot.encoded())
    }

    public func loadSnapshot(_ id: ID) async throws -> Snapshot {
        let json = try await loadUnpacked(.snapshot, id: id)
        do {
            return try Snapshot(decoding: json)
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "snapshot \(id.short) is malformed: \(error.message)")
        }
    }

    /// Every snapshot, loaded concurrently, sorted by time.
    public func snapshots() async throws -> [(id: ID, snapshot: Snapshot)] {
        let ids = try await backend.list(.snapshot).compactMap { ID(hex: $0.name) }
        let loaded = try await concurrentMap(ids, limit: max(4, backend.connections)) { id in
            (id, try await self.loadSnapshot(id))
        }
        return loaded.map { (id: $0.0, snapshot: $0.1) }.sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
    }

    /// Every snapshot that can be read, sorted by time, plus the ones that cannot (damaged,
    /// or gone since the listing) with the reason. For listing, selecting and finding a
    /// parent, where one bad file must not hide all the others; `check` reports the damage.
    public func readableSnapshots() async throws -> (snapshots: [(id: ID, snapshot: Snapshot)], damaged: [(id: ID, message: String)]) {
        let ids = try await backend.list(.snapshot).compactMap { ID(hex: $0.name) }
        let loaded = try await concurrentMap(ids, limit: max(4, backend.connections)) { id -> (ID, Snapshot?, String?) in
            do {
                return (id, try await self.loadSnapshot(id), nil)
            } catch let error as LifeboatError where error.code == .corrupt || error.code == .notFound {
                return (id, nil, error.message)
            }
        }
        let good = loaded.compactMap { item in item.1.map { (id: item.0, snapshot: $0) } }
            .sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
        let damaged = loaded.compactMap { item in item.2.map { (id: item.0, message: $0) } }.sorted { $0.id < $1.id }
        return (good, damaged)
    }

    // MARK: - Index

    public func loadIndexFile(_ id: ID) async throws -> IndexFile {
        let json = try await loadUnpacked(.index, id: id)
        do {
            return try IndexFile(decoding: json)
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "index \(id.short) is malformed: \(error.message)",
                                hint: "run `lifeboat check`; a damaged index can be rebuilt from the packs")
        }
    }

    /// Loads every index file into one master index.
    public func loadIndex() async throws -> MasterIndex {
        let ids = try await backend.list(.index).compactMap { ID(hex: $0.name) }
        var index = MasterIndex()
        // Decode concurrently, merge serially in a stable order.
        let files = try await concurrentMap(ids, limit: max(2, backend.connections)) { try await self.loadIndexFile($0) }
        index.reserve(files.reduce(0) { $0 + $1.packs.reduce(0) { $0 + $1.blobs.count } })
        for file in files { index.add(file) }
        return index
    }

    /// The index, loaded as the first step of a locked command (`withLock(prepare:)`), or
    /// nil where listing first would cost a request the lock check saves (S3).
    public func loadIndexEarly() async throws -> MasterIndex? {
        backend.combinesListings ? nil : try await loadIndex()
    }

    // MARK: - Blobs

    /// Loads one blob, verifying its MAC and hash.
    public func loadBlob(_ id: ID, type: BlobType, index: MasterIndex) async throws -> [UInt8] {
        try await loadBlob(id, type: type, locations: index.lookupAll(id, type: type))
    }

    /// Loads one blob from the first of `locations` that reads back intact.
    public func loadBlob(_ id: ID, type: BlobType, locations copies: [BlobLocation]) async throws -> [UInt8] {
        guard !copies.isEmpty else {
            throw LifeboatError(.notFound, "\(type) blob \(id.short) is not in the index",
                                hint: "the repository is missing data; run `lifeboat check`")
        }
        var lastError: (any Error)?
        for location in copies {
            do {
                if type == .tree, let cached = backend as? any TreeCachingBackend {
                    return try loadCachedTree(cached, id: id, location: location)
                }
                let sealed = try await backend.load(FileHandle(.pack, location.pack), offset: Int(location.offset),
                                                    length: Int(location.length))
                return try openSealed(sealed, id: id, location: location)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// `loadBlob` for pipeline threads: reads on the calling thread, without task hops.
    public func loadBlobBlocking(_ id: ID, type: BlobType, locations copies: [BlobLocation]) throws -> [UInt8] {
        guard !copies.isEmpty else {
            throw LifeboatError(.notFound, "\(type) blob \(id.short) is not in the index",
                                hint: "the repository is missing data; run `lifeboat check`")
        }
        var lastError: (any Error)?
        for location in copies {
            do {
                if type == .tree, let cached = backend as? any TreeCachingBackend {
                    return try loadCachedTree(cached, id: id, location: location)
                }
                let sealed = try backend.loadBlocking(FileHandle(.pack, location.pack), offset: Int(location.offset),
                                                      length: Int(location.length))
                return try openSealed(sealed, id: id, location: location)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// A tree blob through a caching backend; a cached copy that fails its check is dropped
    /// and read again from the repository.
    private func loadCachedTree(_ cached: any TreeCachingBackend, id: ID, location: BlobLocation) throws -> [UInt8] {
        let pack = FileHandle(.pack, location.pack)
        let sealed = try cached.loadTreeBlob(pack, offset: Int(location.offset), length: Int(location.length))
        do {
            return try openSealed(sealed, id: id, location: location)
        } catch {
            cached.forgetTreeBlob(pack, offset: Int(location.offset), length: Int(location.length))
            let fresh = try cached.loadBlocking(pack, offset: Int(location.offset), length: Int(location.length))
            return try openSealed(fresh, id: id, location: location)
        }
    }

    /// Checks and opens one sealed blob with a pooled decoder.
    private func openSealed(_ sealed: [UInt8], id: ID, location: BlobLocation) throws -> [UInt8] {
        try decoders.use { try BlobCodec.open(sealed, id: id, location: location, cipher: $0.cipher, decompressor: $0.decompressor) }
    }

    /// `loadTree` for pipeline threads.
    public func loadTreeBlocking(_ id: ID, locations: [BlobLocation]) throws -> Tree {
        try decodeTree(id, try loadBlobBlocking(id, type: .tree, locations: locations))
    }

    public func loadTree(_ id: ID, index: MasterIndex) async throws -> Tree {
        try await loadTree(id, locations: index.lookupAll(id, type: .tree))
    }

    public func loadTree(_ id: ID, locations: [BlobLocation]) async throws -> Tree {
        try decodeTree(id, try await loadBlob(id, type: .tree, locations: locations))
    }

    private func decodeTree(_ id: ID, _ bytes: [UInt8]) throws -> Tree {
        do {
            return try Tree(decoding: bytes)
        } catch let error as LifeboatError {
            throw LifeboatError(.corrupt, "tree \(id.short) is malformed: \(error.message)")
        }
    }
}

/// Opening and sealing single blobs.
public enum BlobCodec {
    /// Reusable buffers for opening many blobs on one thread without allocating each time.
    public struct Buffers {
        var opened: [UInt8] = []
        var plain: [UInt8] = []
        public init() {}
    }

    /// Like `open`, into `buffers`, and hands the verified plaintext to `body`.
    public static func open<R>(_ sealed: UnsafeRawBufferPointer, id: ID, location: BlobLocation, cipher: Cipher,
                               decompressor: ZstdDecompressor, buffers: inout Buffers,
                               _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let count: Int
        do {
            count = try cipher.open(sealed, into: &buffers.opened)
        } catch let error as LifeboatError {
            throw damage(id, location, error.message)
        }
        return try buffers.opened.withUnsafeBytes { raw in
            try finish(UnsafeRawBufferPointer(rebasing: raw[0..<count]), id: id, location: location,
                       decompressor: decompressor, plain: &buffers.plain, body)
        }
    }

    /// Like `open(_:id:location:cipher:decompressor:buffers:_:)`, but decrypts in place:
    /// `sealed` is overwritten, and an uncompressed blob is handed to `body` where it lies.
    public static func open<R>(inPlace sealed: UnsafeMutableRawBufferPointer, id: ID, location: BlobLocation, cipher: Cipher,
                               decompressor: ZstdDecompressor, buffers: inout Buffers,
                               _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let opened = try decrypt(inPlace: sealed, id: id, location: location, cipher: cipher)
        return try finish(opened, id: id, location: location, decompressor: decompressor, plain: &buffers.plain, body)
    }

    /// Like `open(inPlace:...)`, but a compressed blob is decompressed through a window of
    /// `window` bytes and handed to `body` piece by piece with each piece's offset in the
    /// plaintext, so a blob of 8 MiB never needs 8 MiB. The MAC is checked before anything
    /// is decrypted, as always; the SHA-256 can only be checked after the last piece, so a
    /// blob whose plaintext does not match its ID throws after `body` has seen it.
    public static func open(inPlace sealed: UnsafeMutableRawBufferPointer, id: ID, location: BlobLocation, cipher: Cipher,
                            decompressor: ZstdDecompressor, buffers: inout Buffers, window: Int,
                            pieces body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        let opened = try decrypt(inPlace: sealed, id: id, location: location, cipher: cipher)
        guard location.uncompressedLength != 0 else {
            guard SHA256.hash(opened) == id else { throw damage(id, location, "its content does not match its ID") }
            return try body(opened, 0)
        }
        let size = Int(location.uncompressedLength)
        let windowSize = min(size, window)
        if buffers.plain.count < windowSize { buffers.plain = [UInt8](repeating: 0, count: windowSize) }
        let hasher = SHA256()
        var offset = 0
        do {
            try buffers.plain.withUnsafeMutableBytes { raw in
                try decompressor.decompress(opened, expectedSize: size, through: UnsafeMutableRawBufferPointer(rebasing: raw[0..<windowSize])) { piece in
                    hasher.update(piece)
                    try body(piece, offset)
                    offset += piece.count
                }
            }
        } catch let error as LifeboatError where error.code == .corrupt {
            throw damage(id, location, error.message)
        }
        guard hasher.finalize() == id else { throw damage(id, location, "its content does not match its ID") }
    }

    /// Decompresses the opened blob into `plain` if it is compressed, checks its SHA-256 and
    /// hands it to `body`.
    private static func finish<R>(_ opened: UnsafeRawBufferPointer, id: ID, location: BlobLocation,
                                  decompressor: ZstdDecompressor, plain: inout [UInt8],
                                  _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        func checked(_ bytes: UnsafeRawBufferPointer) throws -> R {
            guard SHA256.hash(bytes) == id else { throw damage(id, location, "its content does not match its ID") }
            return try body(bytes)
        }
        guard location.uncompressedLength != 0 else { return try checked(opened) }
        let size = Int(location.uncompressedLength)
        do {
            try decompressor.decompress(opened, expectedSize: size, into: &plain)
        } catch let error as LifeboatError {
            throw damage(id, location, error.message)
        }
        return try plain.withUnsafeBytes { try checked(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
    }

    /// Checks the MAC and decrypts in place; a failure names the blob as damaged.
    private static func decrypt(inPlace sealed: UnsafeMutableRawBufferPointer, id: ID, location: BlobLocation,
                                cipher: Cipher) throws -> UnsafeRawBufferPointer {
        do {
            return UnsafeRawBufferPointer(try cipher.open(inPlace: sealed))
        } catch let error as LifeboatError {
            throw damage(id, location, error.message)
        }
    }

    // Built only on failure: opening runs once per blob on restore and check --read-data.
    private static func damage(_ id: ID, _ location: BlobLocation, _ problem: String) -> LifeboatError {
        LifeboatError(.corrupt, "\(location.type) blob \(id.short) in pack \(location.pack.short) is damaged: \(problem)",
                      hint: "run `lifeboat check --read-data` to find all damage")
    }

    /// Verifies the MAC, decrypts, decompresses and checks the SHA-256 of a stored blob.
    public static func open(_ sealed: [UInt8], id: ID, location: BlobLocation, cipher: Cipher,
                            decompressor: ZstdDecompressor) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0, id: id, location: location, cipher: cipher, decompressor: decompressor) }
    }

    public static func open(_ sealed: UnsafeRawBufferPointer, id: ID, location: BlobLocation, cipher: Cipher,
                            decompressor: ZstdDecompressor) throws -> [UInt8] {
        var buffers = Buffers()
        try open(sealed, id: id, location: location, cipher: cipher, decompressor: decompressor, buffers: &buffers) { _ in }
        // Fresh buffers grow to exactly the plaintext: handed out as they are, not copied
        // (a large tree's JSON was copied once more here).
        return location.uncompressedLength != 0 ? buffers.plain : buffers.opened
    }
}

/// Runs `transform` over `items` with at most `limit` in flight; keeps the input order.
public func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], limit: Int,
                                                    _ transform: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
    var results = [R?](repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        while next < items.count && next < limit {
            let i = next
            group.addTask { (i, try await transform(items[i])) }
            next += 1
        }
        while let (i, r) = try await group.next() {
            results[i] = r
            if next < items.count {
                let j = next
                group.addTask { (j, try await transform(items[j])) }
                next += 1
            }
        }
    }
    return results.map { $0! }
}

public func currentHostname() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

public func currentUsername() -> String {
    if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "uid\(geteuid())"
}

/// A few cipher + decompressor pairs, lent out one call at a time.
final class DecoderPool: Sendable {
    final class Decoder {
        let cipher: Cipher
        let decompressor = ZstdDecompressor()
        init(key: CryptoKey) { cipher = Cipher(key: key) }
    }

    private let key: CryptoKey
    private let free = Locked<[Decoder]>([])

    init(key: CryptoKey) { self.key = key }

    func use<T>(_ body: (Decoder) throws -> T) rethrows -> T {
        let decoder = free.withLock { $0.popLast() } ?? Decoder(key: key)
        defer { free.withLock { if $0.count < 8 { $0.append(decoder) } } }
        return try body(decoder)
    }
}
