#if canImport(Glibc)
import Glibc
#endif
public import LifeboatCore
public import LifeboatRepository
import LifeboatArchive

/// An etcd snapshot stored in a repository snapshot.
public struct StoredEtcdSnapshot: Sendable {
    public var snapshotID: ID
    public var snapshot: Snapshot
    public var name: String
    public var database: Node
    /// nil when snapshot.json is missing or unreadable.
    public var info: EtcdSnapshotInfo?
}

/// Finds `/etcd/NAME/snapshot.db` (and its snapshot.json) in a repository snapshot.
/// - Parameter name: which one, when a snapshot holds several.
public func findEtcdSnapshot(_ id: ID, _ snapshot: Snapshot, name: String? = nil, repository: Repository,
                             index: MasterIndex) async throws -> StoredEtcdSnapshot {
    let dumper = Dumper(repository: repository, index: index)
    let root: Node
    do { root = try await dumper.node(at: [Array("etcd".utf8)], in: snapshot.tree) } catch let error as LifeboatError where error.code == .notFound {
        throw LifeboatError(.notFound, "snapshot \(id.short) holds no etcd snapshot (no /etcd directory)",
                            hint: "list etcd snapshots with `lifeboat etcd ls`")
    }
    guard root.type == .dir, let subtree = root.subtree else {
        throw LifeboatError(.notFound, "snapshot \(id.short) holds no etcd snapshot (/etcd is not a directory)")
    }
    let names = try await repository.loadTree(subtree, index: index).nodes.filter { $0.type == .dir }.map(\.displayName)
    let chosen: String
    if let name {
        guard names.contains(name) else {
            throw LifeboatError(.notFound, "snapshot \(id.short) has no /etcd/\(name) (it has: \(names.joined(separator: ", ")))")
        }
        chosen = name
    } else {
        guard names.count == 1 else {
            throw LifeboatError(.invalidArgument, names.isEmpty ? "snapshot \(id.short) holds no etcd snapshot"
                                    : "snapshot \(id.short) holds several etcd snapshots: \(names.joined(separator: ", "))",
                                hint: names.isEmpty ? nil : "choose one with --name")
        }
        chosen = names[0]
    }
    let directory = [Array("etcd".utf8), Array(chosen.utf8)]
    let database = try await dumper.node(at: directory + [Array("snapshot.db".utf8)], in: snapshot.tree)
    guard database.type == .file else {
        throw LifeboatError(.corrupt, "/etcd/\(chosen)/snapshot.db in snapshot \(id.short) is not a file")
    }
    var info: EtcdSnapshotInfo?
    if let node = try? await dumper.node(at: directory + [Array("snapshot.json".utf8)], in: snapshot.tree), node.type == .file {
        var bytes: [UInt8] = []
        for blob in node.content ?? [] { bytes += try await repository.loadBlob(blob, type: .data, index: index) }
        info = try? EtcdSnapshotInfo(decoding: bytes)
    }
    return StoredEtcdSnapshot(snapshotID: id, snapshot: snapshot, name: chosen, database: database, info: info)
}

public struct EtcdRestoreResult: Sendable {
    public var path: String
    public var size: UInt64
    public var sha256: ID
}

/// Writes the snapshot file to `path` through a temporary file in the same directory, checks
/// its SHA-256 trailer as read back from disk, then renames it into place. An existing `path`
/// is replaced only with `force`.
public func restoreEtcdSnapshot(_ stored: StoredEtcdSnapshot, to path: String, force: Bool,
                                repository: Repository, index: MasterIndex) async throws -> EtcdRestoreResult {
    if !force && access(path, F_OK) == 0 {
        throw LifeboatError(.invalidArgument, "\(path) already exists", hint: "choose another --output, or pass --force to replace it")
    }
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !base.isEmpty else { throw LifeboatError(.invalidArgument, "--output \(path) names a directory; give a file name") }
    var template = Array("\(directory.isEmpty ? "/" : directory)/.\(base).lifeboat-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw LifeboatError.posix("cannot create a file in", directory.isEmpty ? "/" : directory, errno: errno) }
    let temp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var keep = false
    defer { if !keep { unlink(temp) } }
    do {
        defer { close(fd) }
        for blob in stored.database.content ?? [] {
            let bytes = try await repository.loadBlob(blob, type: .data, index: index)
            try writeAll(fd, bytes, path: temp)
        }
        guard fsync(fd) == 0 else { throw LifeboatError.posix("cannot sync", temp, errno: errno) }
    }
    // Verify what reached the disk, not what we meant to write.
    let verifier = SnapshotTrailerVerifier()
    try readFile(temp) { verifier.update($0) }
    let (sha, _) = try verifier.finish("the restored file \(path)")
    if let expected = stored.database.size, expected != verifier.totalBytes {
        throw LifeboatError(.corrupt, "the restored file has \(verifier.totalBytes) bytes, the snapshot records \(expected)")
    }
    if force {
        guard rename(temp, path) == 0 else { throw LifeboatError.posix("cannot rename the restored file to", path, errno: errno) }
    } else {
        // link() fails if the name appeared meanwhile: never replace a file without --force.
        guard link(temp, path) == 0 else {
            if errno == EEXIST { throw LifeboatError(.invalidArgument, "\(path) already exists", hint: "pass --force to replace it") }
            throw LifeboatError.posix("cannot create", path, errno: errno)
        }
        unlink(temp)
    }
    keep = true
    return EtcdRestoreResult(path: path, size: verifier.totalBytes, sha256: sha)
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var done = 0
    try bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw LifeboatError.posix("cannot write", path, errno: errno)
            }
            done += n
        }
    }
}

/// The command that turns a restored snapshot file into a data directory (etcd 3.4's etcdctl;
/// from 3.5 on `etcdutl snapshot restore` takes the same arguments).
public func etcdctlRestoreCommand(file: String, dataDir: String, memberName: String? = nil,
                                  initialCluster: String? = nil, peerURLs: String? = nil) -> [String] {
    var argv = ["etcdctl", "snapshot", "restore", file, "--data-dir", dataDir]
    if let memberName { argv += ["--name", memberName] }
    if let initialCluster { argv += ["--initial-cluster", initialCluster] }
    if let peerURLs { argv += ["--initial-advertise-peer-urls", peerURLs] }
    return argv
}

/// Quotes a word for a POSIX shell only when it needs it.
public func shellQuoted(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0)) }
    if safe && !word.isEmpty { return word }
    return "'" + word.replacingAll("'", with: "'\\''") + "'"
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
