public import LifeboatCore

/// What lifeboat records about one etcd snapshot, stored as `snapshot.json` next to
/// `snapshot.db` in the snapshot tree (restic's snapshot JSON stays unchanged; tags carry
/// `etcd` and `etcd-revision=N` for filtering).
public struct EtcdSnapshotInfo: Sendable, Equatable {
    public static let formatName = "lifeboat-etcd-snapshot/1"

    /// The directory name below /etcd/ in the snapshot.
    public var name: String
    /// "endpoint" or "file".
    public var source: String
    /// The endpoint that streamed the snapshot, or the file it was read from.
    public var origin: String
    public var takenAt: Timestamp
    /// Size of the snapshot file (database + 32-byte trailer).
    public var size: UInt64
    /// Size of the BoltDB database inside.
    public var databaseSize: UInt64
    /// The trailer: SHA-256 of the database.
    public var sha256: ID
    // From /v3/maintenance/status just before the snapshot (nil for --from-file).
    public var clusterID: UInt64?
    public var memberID: UInt64?
    public var memberName: String?
    /// The member's revision when the snapshot started; the snapshot holds at least this revision.
    public var revision: Int64?
    public var raftTerm: UInt64?
    public var etcdVersion: String?
    public var wasLeader: Bool?

    public init(name: String, source: String, origin: String, takenAt: Timestamp, size: UInt64,
                databaseSize: UInt64, sha256: ID) {
        self.name = name
        self.source = source
        self.origin = origin
        self.takenAt = takenAt
        self.size = size
        self.databaseSize = databaseSize
        self.sha256 = sha256
    }

    /// IDs as etcdctl prints them (lower-case hex).
    public static func hexID(_ id: UInt64) -> String { String(id, radix: 16) }

    public var tags: [String] {
        var tags = ["etcd"]
        if let revision { tags.append("etcd-revision=\(revision)") }
        return tags
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("format"); w.string(Self.formatName)
        w.key("name"); w.string(name)
        w.key("source"); w.string(source)
        w.key("origin"); w.string(origin)
        w.key("taken_at"); w.string(takenAt.rfc3339)
        w.key("size"); w.number(size)
        w.key("db_size"); w.number(databaseSize)
        w.key("sha256"); w.string(sha256.hex)
        if let clusterID { w.key("cluster_id"); w.string(Self.hexID(clusterID)) }
        if let memberID { w.key("member_id"); w.string(Self.hexID(memberID)) }
        if let memberName { w.key("member_name"); w.string(memberName) }
        if let revision { w.key("revision"); w.number(revision) }
        if let raftTerm { w.key("raft_term"); w.number(raftTerm) }
        if let etcdVersion { w.key("etcd_version"); w.string(etcdVersion) }
        if let wasLeader { w.key("leader"); w.bool(wasLeader) }
        w.endObject()
        w.newline()
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        let v = try JSONValue(parsing: bytes)
        guard v["format"]?.stringValue == Self.formatName, let name = v["name"]?.stringValue,
              let taken = v["taken_at"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }),
              let size = v["size"]?.uint64Value, let db = v["db_size"]?.uint64Value,
              let sha = v["sha256"]?.stringValue.flatMap({ ID(hex: $0) }) else {
            throw LifeboatError(.corrupt, "snapshot.json is not a \(Self.formatName) record")
        }
        self.init(name: name, source: v["source"]?.stringValue ?? "", origin: v["origin"]?.stringValue ?? "",
                  takenAt: taken, size: size, databaseSize: db, sha256: sha)
        clusterID = v["cluster_id"]?.stringValue.flatMap { UInt64($0, radix: 16) }
        memberID = v["member_id"]?.stringValue.flatMap { UInt64($0, radix: 16) }
        memberName = v["member_name"]?.stringValue
        revision = v["revision"]?.int64Value
        raftTerm = v["raft_term"]?.uint64Value
        etcdVersion = v["etcd_version"]?.stringValue
        wasLeader = v["leader"]?.boolValue
    }
}
