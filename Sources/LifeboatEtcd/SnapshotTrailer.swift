public import LifeboatCore

/// Checks the SHA-256 trailer of an etcd snapshot file while its bytes stream past.
///
/// A snapshot (from `etcdctl snapshot save` or the gateway stream) is the BoltDB database
/// followed by 32 bytes: the SHA-256 of the database. The last 32 bytes seen are held back
/// from the hash, so memory stays constant whatever the size.
public final class SnapshotTrailerVerifier {
    public static let trailerSize = 32
    private let hasher = SHA256()
    private var held: [UInt8] = []
    public private(set) var totalBytes: UInt64 = 0

    public init() { held.reserveCapacity(2 * Self.trailerSize) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        totalBytes += UInt64(bytes.count)
        let n = Self.trailerSize
        if bytes.count >= n {
            hasher.update(held)
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - n)]))
            held.removeAll(keepingCapacity: true)
            held.append(contentsOf: bytes[(bytes.count - n)...])
        } else {
            held.append(contentsOf: bytes)
            if held.count > n {
                let overflow = held.count - n
                held.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<overflow])) }
                held.removeFirst(overflow)
            }
        }
    }

    /// Checks the trailer after the last byte.
    /// - Returns: the trailer (SHA-256 of the database) and the database size.
    /// - Throws: `.corrupt` when the trailer is missing or does not match; `what` names the source.
    public func finish(_ what: String) throws -> (sha256: ID, databaseSize: UInt64) {
        let n = UInt64(Self.trailerSize)
        guard totalBytes > n else {
            throw LifeboatError(.corrupt, "\(what) is \(totalBytes) bytes: too short to be an etcd snapshot")
        }
        let digest = hasher.finalize()
        let trailer = held.withUnsafeBytes { ID(bytes: $0) }
        guard digest == trailer else {
            if totalBytes % 512 == 0 {
                throw LifeboatError(.corrupt, "\(what) has no SHA-256 trailer: it looks like a bare database file (a copy of member/snap/db), not a snapshot",
                                    hint: "take snapshots with `etcdctl snapshot save` or `lifeboat etcd backup --endpoints`")
            }
            throw LifeboatError(.corrupt, "\(what) fails its SHA-256 check: the trailer says \(trailer.hex), the database hashes to \(digest.hex)",
                                hint: "the snapshot is damaged or was cut; take a new one")
        }
        // etcdctl decides from the size alone whether a trailer is there (size % 512 == 32).
        guard totalBytes % 512 == n else {
            throw LifeboatError(.corrupt, "\(what) is \(totalBytes) bytes, which etcdctl would not read as database + SHA-256 trailer (size % 512 must be 32)",
                                hint: "the database is not a whole number of 512-byte sectors; this is not an etcd snapshot")
        }
        return (digest, totalBytes - n)
    }
}
