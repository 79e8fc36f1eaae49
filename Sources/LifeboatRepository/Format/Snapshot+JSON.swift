import LifeboatCore

/// Snapshot files' JSON in restic's field order (RESTIC-V2-FORMAT.md §7.3), no newline.
extension Snapshot {
    public func encoded() -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("time"); w.timestamp(time)
        if let parent { w.key("parent"); w.id(parent) }
        w.key("tree"); w.id(tree)
        w.key("paths"); Self.write(paths, to: &w)
        if let hostname, !hostname.isEmpty { w.key("hostname"); w.string(hostname) }
        if let username, !username.isEmpty { w.key("username"); w.string(username) }
        if let uid, uid != 0 { w.key("uid"); w.number(uid) }
        if let gid, gid != 0 { w.key("gid"); w.number(gid) }
        if !excludes.isEmpty { w.key("excludes"); Self.write(excludes, to: &w) }
        if !tags.isEmpty { w.key("tags"); Self.write(tags, to: &w) }
        if let original { w.key("original"); w.id(original) }
        if let programVersion, !programVersion.isEmpty { w.key("program_version"); w.string(programVersion) }
        if let summary {
            w.key("summary")
            w.beginObject()
            w.key("backup_start"); w.timestamp(summary.backupStart)
            w.key("backup_end"); w.timestamp(summary.backupEnd)
            w.key("files_new"); w.number(summary.filesNew)
            w.key("files_changed"); w.number(summary.filesChanged)
            w.key("files_unmodified"); w.number(summary.filesUnmodified)
            w.key("dirs_new"); w.number(summary.dirsNew)
            w.key("dirs_changed"); w.number(summary.dirsChanged)
            w.key("dirs_unmodified"); w.number(summary.dirsUnmodified)
            w.key("data_blobs"); w.number(summary.dataBlobs)
            w.key("tree_blobs"); w.number(summary.treeBlobs)
            w.key("data_added"); w.number(summary.dataAdded)
            w.key("data_added_packed"); w.number(summary.dataAddedPacked)
            w.key("total_files_processed"); w.number(summary.totalFilesProcessed)
            w.key("total_bytes_processed"); w.number(summary.totalBytesProcessed)
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    private static func write(_ strings: [String], to w: inout JSONWriter) {
        w.beginArray()
        for s in strings { w.string(s) }
        w.endArray()
    }

    /// Decodes a snapshot file's JSON; unknown fields are ignored.
    /// - Throws: `.corrupt` for invalid JSON, wrong types, or a missing `tree`.
    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "snapshot")
        var time = Timestamp.goZero
        var tree: ID?
        var paths: [String] = []
        var rest: [(String, JSONValue)] = []
        let members = try GoJSON.members(json, "snapshot")
        for (key, value) in members {
            switch key {
            case "time": time = try GoJSON.time(value, "snapshot time")
            case "tree": tree = try GoJSON.id(value, "snapshot tree")
            case "paths": paths = try GoJSON.strings(value, "snapshot paths")
            default: rest.append((key, value))
            }
        }
        guard let tree else { throw LifeboatError(.corrupt, "snapshot has no tree") }
        self.init(time: time, tree: tree, paths: paths)
        for (key, value) in rest {
            switch key {
            case "parent": parent = try GoJSON.id(value, "snapshot parent")
            case "hostname": hostname = Self.nonEmpty(try GoJSON.string(value, "snapshot hostname"))
            case "username": username = Self.nonEmpty(try GoJSON.string(value, "snapshot username"))
            case "uid": uid = try GoJSON.uint32(value, "snapshot uid")
            case "gid": gid = try GoJSON.uint32(value, "snapshot gid")
            case "excludes": excludes = try GoJSON.strings(value, "snapshot excludes")
            case "tags": tags = try GoJSON.strings(value, "snapshot tags")
            case "original": original = try GoJSON.id(value, "snapshot original")
            case "program_version": programVersion = Self.nonEmpty(try GoJSON.string(value, "snapshot program_version"))
            case "summary": summary = value.isNull ? nil : try Self.decodeSummary(value)
            default: break
            }
        }
        if uid == 0 { uid = nil }
        if gid == 0 { gid = nil }
    }

    private static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    private static func decodeSummary(_ value: JSONValue) throws -> SnapshotSummary {
        var s = SnapshotSummary(backupStart: .goZero, backupEnd: .goZero)
        for (key, v) in try GoJSON.members(value, "snapshot summary") {
            let what = "snapshot summary \(key)"
            switch key {
            case "backup_start": s.backupStart = try GoJSON.time(v, what)
            case "backup_end": s.backupEnd = try GoJSON.time(v, what)
            case "files_new": s.filesNew = try GoJSON.uint64(v, what)
            case "files_changed": s.filesChanged = try GoJSON.uint64(v, what)
            case "files_unmodified": s.filesUnmodified = try GoJSON.uint64(v, what)
            case "dirs_new": s.dirsNew = try GoJSON.uint64(v, what)
            case "dirs_changed": s.dirsChanged = try GoJSON.uint64(v, what)
            case "dirs_unmodified": s.dirsUnmodified = try GoJSON.uint64(v, what)
            case "data_blobs": s.dataBlobs = try GoJSON.uint64(v, what)
            case "tree_blobs": s.treeBlobs = try GoJSON.uint64(v, what)
            case "data_added": s.dataAdded = try GoJSON.uint64(v, what)
            case "data_added_packed": s.dataAddedPacked = try GoJSON.uint64(v, what)
            case "total_files_processed": s.totalFilesProcessed = try GoJSON.uint64(v, what)
            case "total_bytes_processed": s.totalBytesProcessed = try GoJSON.uint64(v, what)
            default: break
            }
        }
        return s
    }
}
