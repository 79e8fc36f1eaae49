#if canImport(Glibc)
import Glibc
#endif
public import LifeboatCore
public import LifeboatRepository
public import LifeboatArchive

/// Where an etcd snapshot comes from.
public enum EtcdSnapshotSource: Sendable {
    /// Streamed from a live member over the JSON gateway.
    case endpoints(EtcdClient)
    /// A file written by `etcdctl snapshot save` (database + SHA-256 trailer).
    case file(String)
}

public struct EtcdBackupOptions: Sendable {
    /// Directory name below /etcd/ (default: `cluster-<cluster ID>` for endpoints, the file's base name otherwise).
    public var name: String?
    public var tags: [String] = []
    public var hostname: String?
    public var time: Timestamp?
    public var dryRun = false
    public var compression: Compression = .auto
    /// Counts streamed bytes for a progress display.
    public var progress: EtcdBackupProgress?
    public init() {}
}

/// Bytes of the snapshot streamed so far, and the size etcd announced (status `dbSize`).
public final class EtcdBackupProgress: Sendable {
    private let state = Locked((done: UInt64(0), expected: UInt64(0)))
    public init() {}
    public var bytes: UInt64 { state.withLock { $0.done } }
    public var expected: UInt64 { state.withLock { $0.expected } }
    func add(_ n: Int) { state.withLock { $0.done += UInt64(n) } }
    func expect(_ n: UInt64) { state.withLock { $0.expected = n } }
}

public struct EtcdBackupResult: Sendable {
    public var info: EtcdSnapshotInfo
    public var backup: VirtualBackupResult
    public var seconds: Double
}

/// Streams one etcd snapshot into a new repository snapshot as `/etcd/NAME/snapshot.db` and
/// `/etcd/NAME/snapshot.json`, with no temporary file. The SHA-256 trailer is checked as the
/// bytes pass; a wrong hash, a cut stream or an etcd error throws before anything is committed
/// (no index, no snapshot; packs already uploaded stay unreferenced until the next prune).
public func backupEtcd(from source: EtcdSnapshotSource, repository: Repository, index: MasterIndex,
                       options: EtcdBackupOptions) async throws -> EtcdBackupResult {
    let start = Timestamp.now()
    var status: EtcdStatus?
    var memberName: String?
    let name: String
    switch source {
    case .endpoints(let client):
        let s = try await blockingIO { try client.status() }
        status = s
        options.progress?.expect(s.dbSize)
        memberName = try? await blockingIO { try client.memberName(s.memberID) }
        name = options.name ?? "cluster-" + EtcdSnapshotInfo.hexID(s.clusterID)
    case .file(let path):
        var st = stat()
        guard stat(path, &st) == 0 else { throw LifeboatError.posix("cannot read the snapshot file", path, errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw LifeboatError(.invalidArgument, "\(path) is not a regular file", hint: "pass the file written by `etcdctl snapshot save`")
        }
        options.progress?.expect(UInt64(st.st_size))
        let base = path.split(separator: "/").last.map(String.init) ?? path
        name = options.name ?? (base.hasSuffix(".db") ? String(base.dropLast(3)) : base)
    }
    guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
        throw LifeboatError(.invalidArgument, "--name \(name) cannot be a directory name in the snapshot")
    }

    var virtual = VirtualSnapshotOptions(paths: ["/etcd/\(name)"])
    if let hostname = options.hostname { virtual.hostname = hostname }
    virtual.time = options.time
    virtual.dryRun = options.dryRun
    virtual.compression = options.compression
    var tags = ["etcd"]
    if let revision = status?.revision { tags.append("etcd-revision=\(revision)") }
    for tag in options.tags where !tags.contains(tag) { tags.append(tag) }
    virtual.tags = tags
    let previous = try await repository.readableSnapshots().snapshots
        .filter { $0.snapshot.paths == virtual.paths && $0.snapshot.hostname == virtual.hostname }
        .max { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
    virtual.parent = previous?.id

    let recorded = Locked<EtcdSnapshotInfo?>(nil)
    // produce runs on its own thread, blocked in curl: Ctrl-C reaches it through this flag.
    let cancelled = Locked(false)
    let progress = options.progress
    let takenAt = options.time ?? start
    let fixedStatus = status, fixedMember = memberName
    let result = try await withTaskCancellationHandler {
        try await backupVirtualTree(repository: repository, index: index, options: virtual) { writer in
            let verifier = SnapshotTrailerVerifier()
            let what: String
            let origin: String
            try writer.addStream(["etcd", name, "snapshot.db"], mode: 0o600, mtime: takenAt) { write in
                let forward: (UnsafeRawBufferPointer) throws -> Void = { bytes in
                    if cancelled.withLock({ $0 }) { throw CancellationError() }
                    progress?.add(bytes.count)
                    verifier.update(bytes)
                    try write(bytes)
                }
                switch source {
                case .endpoints(let client):
                    try client.snapshot(emit: forward)
                case .file(let path):
                    try readFile(path, into: forward)
                }
            }
            switch source {
            case .endpoints(let client):
                origin = client.activeEndpoint ?? fixedStatus?.endpoint ?? ""
                what = "the snapshot streamed from \(origin)"
            case .file(let path):
                origin = path
                what = path
            }
            // Throwing here, inside produce, keeps the snapshot from being committed.
            let (sha, databaseSize) = try verifier.finish(what)
            var info = EtcdSnapshotInfo(name: name, source: fixedStatus == nil ? "file" : "endpoint", origin: origin,
                                        takenAt: takenAt, size: verifier.totalBytes, databaseSize: databaseSize, sha256: sha)
            if let s = fixedStatus {
                info.clusterID = s.clusterID
                info.memberID = s.memberID
                info.memberName = fixedMember
                info.revision = s.revision
                info.raftTerm = s.raftTerm
                info.etcdVersion = s.version
                info.wasLeader = s.isLeader
            }
            try writer.addFile(["etcd", name, "snapshot.json"], contents: info.encoded(), mode: 0o600, mtime: takenAt)
            recorded.withLock { $0 = info }
        }
    } onCancel: {
        cancelled.withLock { $0 = true }
    }
    let end = Timestamp.now()
    let seconds = Double(end.seconds - start.seconds) + Double(end.nanoseconds - start.nanoseconds) / 1e9
    guard let info = recorded.withLock({ $0 }) else {
        throw LifeboatError(.internalError, "the etcd backup finished without recording its snapshot")
    }
    return EtcdBackupResult(info: info, backup: result, seconds: seconds)
}

/// Reads a file in 1 MiB pieces.
func readFile(_ path: String, into body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw LifeboatError.posix("cannot open", path, errno: errno) }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw LifeboatError.posix("cannot read", path, errno: errno)
        }
        if n == 0 { return }
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
    }
}
