import Foundation
import Glibc

/// `../shared/testdata/restic/MANIFEST.json`: what every snapshot of the Lifeboat-made
/// restic fixtures holds.
struct FixtureManifest: Decodable {
    let password: String
    let second_key_password_v2: String
    let repositories: [Repository]

    struct Repository: Decodable {
        let archive: String
        let top_dir: String
        let snapshots: [Snapshot]
    }

    struct Snapshot: Decodable {
        let id: String
        let label: String
        let tree: String
        let entries: [Entry]
    }

    struct Entry: Decodable {
        let path: String
        let path_hex: String
        let type: String
        let mode: String
        let size: Int64?
        let sha256: String?
        let hardlink_group: String?
        let mtime_unix_ns: Int64?
        let linktarget_hex: String?
        let xattrs_hex: [String: String]?
        let rdev_major: UInt32?
        let rdev_minor: UInt32?
    }

    static func load() throws -> FixtureManifest {
        let path = try Locations.sharedTestdata() + "/restic/MANIFEST.json"
        return try JSONDecoder().decode(FixtureManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func repository(_ topDir: String) throws -> Repository {
        guard let repo = repositories.first(where: { $0.top_dir == topDir }) else {
            throw Locations.Missing(description: "MANIFEST.json has no repository \(topDir)")
        }
        return repo
    }
}

func decodeHex(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(hex.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}

/// Compares a restored tree with a manifest snapshot: every entry's type, mode, size,
/// SHA-256, mtime (every entry that has one listed, except directories and symlinks when
/// `fileTimesOnly`), link target, user.* xattrs, device numbers and hard-link groups, and
/// that the tree holds nothing else. Sockets are expected to be absent (restic 0.14 does not
/// store them).
func compareWithManifest(_ tree: ScannedTree, _ snapshot: FixtureManifest.Snapshot, fileTimesOnly: Bool = true) -> [String] {
    var diffs: [String] = []
    var expectedPaths = Set<RawPath>()
    var groups: [String: [RawPath]] = [:]
    for entry in snapshot.entries {
        let path = RawPath(decodeHex(entry.path_hex))
        if entry.type == "socket" {
            if tree.entries[path] != nil { diffs.append("\(path): a socket was restored, but restic 0.14 does not store sockets") }
            continue
        }
        expectedPaths.insert(path)
        if let group = entry.hardlink_group { groups[group, default: []].append(path) }
        guard let got = tree.entries[path] else { diffs.append("\(path): \(entry.type) missing from the restore"); continue }
        func differ(_ what: String, _ e: Any, _ g: Any) { diffs.append("\(path): \(what) expected \(e), got \(g)") }
        guard got.kind.rawValue == entry.type else { differ("type", entry.type, got.kind.rawValue); continue }
        let mode = UInt32(entry.mode, radix: 8)!
        if got.kind != .symlink && got.mode != mode { differ("mode", entry.mode, String(got.mode, radix: 8)) }
        if let size = entry.size, got.kind == .file, got.size != size { differ("size", size, got.size) }
        if let sha = entry.sha256, got.sha256 != sha { differ("sha256", sha, got.sha256 ?? "-") }
        if let target = entry.linktarget_hex, got.linkTarget != decodeHex(target) {
            differ("link target", RawPath.escape(decodeHex(target)), RawPath.escape(got.linkTarget ?? []))
        }
        if let major = entry.rdev_major, let minor = entry.rdev_minor {
            let gotMajor = Device.major(got.rdev), gotMinor = Device.minor(got.rdev)
            if gotMajor != major || gotMinor != minor {
                differ("device", "\(major),\(minor)", "\(gotMajor),\(gotMinor)")
            }
        }
        if let ns = entry.mtime_unix_ns, !(fileTimesOnly && (got.kind == .dir || got.kind == .symlink)) {
            let gotNs = Int64(got.mtime.0) * 1_000_000_000 + Int64(got.mtime.1)
            if gotNs != ns { differ("mtime (ns since 1970)", ns, gotNs) }
        }
        let expectedXattrs = (entry.xattrs_hex ?? [:]).mapValues(decodeHex)
        let gotXattrs = got.xattrs.filter { $0.key.hasPrefix("user.") }
        if expectedXattrs != gotXattrs { differ("xattrs", describe(expectedXattrs), describe(gotXattrs)) }
    }
    for path in tree.entries.keys.sorted() where !expectedPaths.contains(path) {
        diffs.append("\(path): unexpected \(tree.entries[path]!.kind.rawValue) in the restore (not in the manifest)")
    }
    // Hard links: a manifest group shares one inode, and nothing else shares it.
    let actualGroups = tree.hardLinkGroups
    var expectedGroupOf: [RawPath: [RawPath]] = [:]
    for members in groups.values { for p in members { expectedGroupOf[p] = members.sorted() } }
    for path in expectedPaths.sorted() where tree.entries[path] != nil && tree.entries[path]!.kind != .dir {
        let e = expectedGroupOf[path] ?? [path], g = actualGroups[path] ?? [path]
        if e != g { diffs.append("\(path): hard-link group expected \(e), got \(g)") }
    }
    return diffs
}
