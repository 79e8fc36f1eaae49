import Foundation
import Glibc

/// Builds and changes the rich source tree the interop tests back up: every kind of entry
/// and metadata restic records on Linux. Content is seeded, so every run builds the same
/// tree; mtimes are set explicitly, with nanoseconds.
enum RichTree {
    static let random3M = RawPath("random-3m.bin")
    static let text2M = RawPath("text-2m.log")

    /// Creates the tree inside the existing, empty directory `root`. `largeFiles: false`
    /// makes the multi-chunk files 64 KiB (for tests about paths, not data).
    static func build(at root: String, seed: UInt64 = 1, largeFiles: Bool = true) throws {
        let r = RawPath(root)
        func p(_ s: String) -> RawPath { r + RawPath(s) }
        func p(_ bytes: [UInt8]) -> RawPath { r + RawPath(bytes) }
        var rng = SeededBytes(seed: seed)

        // Regular files of varied sizes; 3 MiB random and 2 MiB of text give several chunks.
        try FS.writeFile(p("empty.txt"), [])
        try FS.writeFile(p("one-byte.txt"), [0x0a])
        try FS.writeFile(p("small.txt"), Array("hello lifeboat\n".utf8))
        try FS.writeFile(r + random3M, rng.bytes(largeFiles ? 3 << 20 : 64 << 10))
        try FS.writeFile(r + text2M, rng.text(largeFiles ? 2 << 20 : 64 << 10))
        try FS.writeFile(p("random-100k.bin"), rng.bytes(100 << 10))
        // 3 MiB with data only at the start, in the middle and at the end: holes between.
        try FS.writeSparse(p("sparse.img"), size: 3 << 20,
                           pieces: [(0, rng.bytes(4096)), (1 << 20, rng.bytes(8192)), ((3 << 20) - 100, rng.bytes(100))])

        // Directories: nested, empty, with metadata.
        for d in ["nested", "nested/a", "nested/a/b", "nested/a/b/c", "nested/a/empty-dir", "empty-top-dir"] {
            try FS.mkdir(p(d))
        }
        try FS.writeFile(p("nested/a/b/c/deep.txt"), Array("deep\n".utf8))

        // Links.
        try FS.symlink(p("link-to-small"), to: RawPath("small.txt"))
        try FS.symlink(p("dangling-link"), to: RawPath("does/not/exist"))
        try FS.symlink(p("nested/link-to-dir"), to: RawPath("a/b"))
        try FS.symlink(p("absolute-link"), to: RawPath("/etc/hostname"))
        try FS.writeFile(p("hardlink-1.txt"), Array("shared by two names\n".utf8))
        try FS.hardlink(p("nested/hardlink-2.txt"), to: p("hardlink-1.txt"))

        // Special files.
        try FS.mkdir(p("specials"))
        try FS.mkfifo(p("specials/pipe.fifo"), mode: 0o640)
        if geteuid() == 0 { try FS.mknodChar(p("specials/null-clone"), major: 1, minor: 3, mode: 0o644) }

        // Modes: setuid, setgid, sticky, private, executable, read-only directory.
        try FS.mkdir(p("modes"))
        try FS.writeFile(p("modes/setuid-bin"), Array("#!/bin/sh\necho setuid\n".utf8))
        try FS.chmod(p("modes/setuid-bin"), 0o4755)
        try FS.writeFile(p("modes/setgid-bin"), Array("#!/bin/sh\necho setgid\n".utf8))
        try FS.chmod(p("modes/setgid-bin"), 0o2711)
        try FS.mkdir(p("modes/sticky-dir"))
        try FS.chmod(p("modes/sticky-dir"), 0o1777)
        try FS.mkdir(p("modes/setgid-dir"))
        try FS.chmod(p("modes/setgid-dir"), 0o2755)
        try FS.writeFile(p("modes/private.txt"), Array("secret\n".utf8))
        try FS.chmod(p("modes/private.txt"), 0o600)
        try FS.writeFile(p("modes/exec.sh"), Array("#!/bin/sh\nexit 0\n".utf8))
        try FS.chmod(p("modes/exec.sh"), 0o755)
        try FS.mkdir(p("modes/readonly-dir"))
        try FS.writeFile(p("modes/readonly-dir/inside.txt"), Array("read only\n".utf8))
        try FS.chmod(p("modes/readonly-dir/inside.txt"), 0o444)
        try FS.chmod(p("modes/readonly-dir"), 0o555)

        // Names: spaces, UTF-8, emoji, bytes that are not UTF-8, tab, newline, control
        // character, quote, backslash.
        try FS.mkdir(p("names"))
        try FS.mkdir(p("dir with spaces"))
        try FS.writeFile(p("dir with spaces/file with spaces.txt"), Array("spaces\n".utf8))
        let names: [[UInt8]] = [
            Array("ünïcødé ファイル.txt".utf8),
            Array("emoji-😀.txt".utf8),
            Array("latin1-".utf8) + [0xe9, 0x74, 0xe9] + Array(".txt".utf8),
            Array("tab\there.txt".utf8),
            Array("new\nline.txt".utf8),
            Array("ctrl-".utf8) + [0x01] + Array("-char.txt".utf8),
            Array("quote\"back\\slash.txt".utf8),
            Array("nb\u{a0}space.txt".utf8),
        ]
        for (i, name) in names.enumerated() {
            try FS.writeFile(r + RawPath("names") + RawPath(name), Array("name \(i)\n".utf8))
        }
        let oddDir: [UInt8] = Array("names/dir-".utf8) + [0xff, 0xfe]
        try FS.mkdir(p(oddDir))
        try FS.writeFile(p(oddDir + Array("/inner.txt".utf8)), Array("inner\n".utf8))
        // A symlink whose name (not target) is not UTF-8. A non-UTF-8 *target* cannot be
        // stored by restic 0.14 (see KnownLimitationTests), so the rich tree has none.
        try FS.symlink(p(Array("names/link-".utf8) + [0xe9]), to: RawPath("emoji-😀.txt"))

        // Extended attributes on a file (text, binary, empty value) and on a directory.
        try FS.writeFile(p("xattr.txt"), Array("has xattrs\n".utf8))
        try FS.setXattr(p("xattr.txt"), "user.comment", Array("backed up by lifeboat".utf8))
        try FS.setXattr(p("xattr.txt"), "user.binary", [0x00, 0xff, 0x10, 0x80])
        try FS.setXattr(p("xattr.txt"), "user.empty", [])
        try FS.setXattr(p("nested"), "user.dir", Array("yes".utf8))

        // Owners other than the current user (only root can give files away).
        if geteuid() == 0 {
            try FS.mkdir(p("owned"))
            try FS.writeFile(p("owned/by-1234.txt"), Array("owned\n".utf8))
            try FS.lchown(p("owned/by-1234.txt"), uid: 1234, gid: 5678)
            try FS.symlink(p("owned/link"), to: RawPath("by-1234.txt"))
            try FS.lchown(p("owned/link"), uid: 2345, gid: 6789)
            try FS.lchown(p("owned"), uid: 4321, gid: 8765)
            // chown clears setuid; set it again after.
            try FS.writeFile(p("owned/setuid-owned"), Array("x\n".utf8))
            try FS.lchown(p("owned/setuid-owned"), uid: 1234, gid: 5678)
            try FS.chmod(p("owned/setuid-owned"), 0o4750)
        }

        try stampTimes(root: r, base: 1_700_000_000)
    }

    /// Gives every entry below `root` (post-order: children before their directory) its
    /// own mtime and atime with nanoseconds.
    static func stampTimes(root: RawPath, base: Int) throws {
        var counter = 0
        func visit(_ path: RawPath) throws {
            let st = try FS.lstat(path)
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for name in try FS.list(path) { try visit(path + RawPath(name)) }
            }
            counter += 1
            try FS.setTimes(path, mtime: (base + counter * 61, (counter * 123_456_789 + 987_654_321) % 1_000_000_000),
                            atime: (base + 500_000 + counter, 111_111_111))
        }
        for name in try FS.list(root) { try visit(root + RawPath(name)) }
    }

    /// Applies change number `step` (1, 2, 3, ...) to a tree made by `build`: content inserted
    /// at the start of a chunked file and changed in the middle of another, a file added, one
    /// deleted, a mode, an xattr and a symlink target changed, a third hard link, and explicit
    /// new times for everything touched and the directories above.
    static func modify(at root: String, step: Int) throws {
        let r = RawPath(root)
        func p(_ s: String) -> RawPath { r + RawPath(s) }
        var rng = SeededBytes(seed: 1000 + UInt64(step))
        var touched: [RawPath] = []

        // Insert a line at the start of the text file: the first chunk changes.
        let text = try FS.readFile(r + text2M)
        try FS.writeFile(r + text2M, Array("inserted by step \(step)\n".utf8) + text)
        touched.append(r + text2M)

        // Change 16 bytes in the middle of the random file.
        var random = try FS.readFile(r + random3M)
        let middle = random.count / 2
        random.replaceSubrange(middle..<(middle + 16), with: rng.bytes(16))
        try FS.writeFile(r + random3M, random)
        touched.append(r + random3M)

        try FS.writeFile(p("small.txt"), Array("hello lifeboat, step \(step)\n".utf8))
        touched.append(p("small.txt"))

        try FS.writeFile(p("nested/a/added-\(step).bin"), rng.bytes(50_000 + step * 1000))
        touched.append(p("nested/a/added-\(step).bin"))
        if step == 1 {
            try FS.unlink(p("one-byte.txt"))
        } else if FS.exists(p("nested/a/added-\(step - 1).bin")) {
            try FS.unlink(p("nested/a/added-\(step - 1).bin"))
        }

        try FS.chmod(p("modes/private.txt"), step % 2 == 1 ? 0o640 : 0o600)
        touched.append(p("modes/private.txt"))

        try FS.setXattr(p("xattr.txt"), "user.comment", Array("changed in step \(step)".utf8))
        try FS.setXattr(p("xattr.txt"), "user.step-\(step)", [UInt8(step), 0])
        touched.append(p("xattr.txt"))

        try FS.unlink(p("dangling-link"))
        try FS.symlink(p("dangling-link"), to: RawPath("still/not/there-\(step)"))
        touched.append(p("dangling-link"))

        if step == 2 {
            try FS.hardlink(p("nested/a/b/hardlink-3.txt"), to: p("hardlink-1.txt"))
            touched.append(p("nested/a/b/hardlink-3.txt"))
        }

        // Explicit times: touched entries, then their directories deepest first.
        let stamp = 1_710_000_000 + step * 86_400
        var dirs = Set<RawPath>()
        for (i, path) in touched.enumerated() {
            try FS.setTimes(path, mtime: (stamp + i, 100_000_000 * step + i + 1))
            var parent = path.parent
            while let d = parent, d != r, d.bytes.count > r.bytes.count {
                dirs.insert(d)
                parent = d.parent
            }
        }
        for (i, d) in dirs.sorted(by: { $0.bytes.count > $1.bytes.count }).enumerated() {
            try FS.setTimes(d, mtime: (stamp + 1000 + i, 999_000_000 + step))
        }
    }

    /// (new, changed) regular files after `modify(step:)`, in restic's terms (changed: size,
    /// mtime, ctime or inode differ from the parent). Step 1 deletes one-byte.txt, later
    /// steps the file the step before added.
    static func expectedFileChanges(step: Int) -> (new: Int, changed: Int) {
        // text-2m.log, random-3m.bin, small.txt (content); modes/private.txt (chmod: ctime);
        // xattr.txt (xattrs: ctime). Step 2 adds a third name to hardlink-1.txt, which
        // changes the ctime of the two existing names.
        step == 2 ? (new: 2, changed: 7) : (new: 1, changed: 5)
    }

    /// A metadata-exact copy of `source` at `destination` (GNU cp -a: modes, owners,
    /// nanosecond times, xattrs, hard links, special files). Callers verify it with the
    /// comparator before relying on it.
    static func copy(_ source: String, to destination: String) throws {
        try Run.check("/bin/cp", ["-a", "--preserve=all", source, destination])
    }
}

/// Bytes a file occupies on disk (st_blocks × 512): far below its size when it has holes.
func allocatedBytes(_ path: String) throws -> Int64 {
    Int64(try FS.lstat(RawPath(path)).st_blocks) * 512
}

/// One entry of a scanned tree.
struct TreeEntry {
    enum Kind: String { case file, dir, symlink, fifo, chardev, blockdev, socket, unknown }

    var kind: Kind
    var mode: UInt32            // permission bits incl. setuid/setgid/sticky
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var sha256: String?         // regular files
    var linkTarget: [UInt8]?    // symlinks
    var rdev: UInt64
    var mtime: (Int, Int)
    var atime: (Int, Int)
    var xattrs: [String: [UInt8]]
    var inode: (UInt64, UInt64) // (dev, ino)
    var nlink: UInt64
}

/// Every entry below a root, keyed by the path relative to it (the root itself excluded).
struct ScannedTree {
    var entries: [RawPath: TreeEntry] = [:]

    /// Every entry's status is taken before any file is read: reading one name of a hard-linked
    /// file would otherwise move the atime seen through its other names.
    init(root: String) throws {
        try scan(RawPath(root), relative: RawPath([]))
        for (path, entry) in entries where entry.kind == .file {
            entries[path]!.sha256 = try FS.sha256(RawPath(root) + path)
        }
    }

    private mutating func scan(_ dir: RawPath, relative: RawPath) throws {
        for name in try FS.list(dir) {
            let full = dir + RawPath(name)
            let rel = relative + RawPath(name)
            let st = try FS.lstat(full)
            let kind: TreeEntry.Kind
            switch st.st_mode & S_IFMT {
            case S_IFREG: kind = .file
            case S_IFDIR: kind = .dir
            case S_IFLNK: kind = .symlink
            case S_IFIFO: kind = .fifo
            case S_IFCHR: kind = .chardev
            case S_IFBLK: kind = .blockdev
            case S_IFSOCK: kind = .socket
            default: kind = .unknown
            }
            entries[rel] = TreeEntry(
                kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid, size: Int64(st.st_size),
                sha256: nil,
                linkTarget: kind == .symlink ? try FS.readlink(full) : nil,
                rdev: UInt64(st.st_rdev), mtime: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec), atime: (st.st_atim.tv_sec, st.st_atim.tv_nsec),
                xattrs: try FS.xattrs(full), inode: (UInt64(st.st_dev), UInt64(st.st_ino)), nlink: UInt64(st.st_nlink))
            if kind == .dir { try scan(full, relative: rel) }
        }
    }

    /// For each non-directory path, the sorted paths in this tree that share its inode
    /// (only paths that have at least one other name here).
    var hardLinkGroups: [RawPath: [RawPath]] {
        var byInode: [String: [RawPath]] = [:]
        for (path, e) in entries where e.kind != .dir && e.nlink > 1 {
            byInode["\(e.inode.0):\(e.inode.1)", default: []].append(path)
        }
        var result: [RawPath: [RawPath]] = [:]
        for group in byInode.values where group.count > 1 {
            let sorted = group.sorted()
            for path in sorted { result[path] = sorted }
        }
        return result
    }
}

struct CompareOptions {
    /// restic 0.14 sets symlink times with utimensat(AT_SYMLINK_NOFOLLOW); set this only for
    /// a restorer known not to.
    var ignoreSymlinkMtime = false
    var compareOwners = true
    /// Access times: only meaningful between two fresh restores of the same snapshot (reading
    /// a tree, the backup included, moves them), and never for symlinks and directories
    /// (their atimes move when the restorer works in them).
    var compareAtimes = false
    /// Which xattrs take part (default: the user namespace; security.* and system.* depend
    /// on the machine).
    var xattrFilter: @Sendable (String) -> Bool = { $0.hasPrefix("user.") }
}

/// Compares two trees entry by entry and returns one line per difference, each naming the
/// path. Empty means equal.
func compareTrees(expected: String, actual: String, options: CompareOptions = CompareOptions()) throws -> [String] {
    let a = try ScannedTree(root: expected), b = try ScannedTree(root: actual)
    return compareScanned(expected: a, actual: b, options: options)
}

func compareScanned(expected a: ScannedTree, actual b: ScannedTree, options: CompareOptions = CompareOptions()) -> [String] {
    var diffs: [String] = []
    for path in Set(a.entries.keys).union(b.entries.keys).sorted() {
        guard let x = a.entries[path] else { diffs.append("\(path): unexpected \(b.entries[path]!.kind.rawValue) in the restore"); continue }
        guard let y = b.entries[path] else { diffs.append("\(path): \(x.kind.rawValue) missing from the restore"); continue }
        func differ(_ what: String, _ e: Any, _ g: Any) { diffs.append("\(path): \(what) expected \(e), got \(g)") }
        if x.kind != y.kind { differ("type", x.kind.rawValue, y.kind.rawValue); continue }
        if x.kind != .symlink && x.mode != y.mode { differ("mode", String(x.mode, radix: 8), String(y.mode, radix: 8)) }
        if options.compareOwners && (x.uid != y.uid || x.gid != y.gid) { differ("owner", "\(x.uid):\(x.gid)", "\(y.uid):\(y.gid)") }
        if x.kind == .file {
            if x.size != y.size { differ("size", x.size, y.size) }
            if x.sha256 != y.sha256 { differ("sha256", x.sha256 ?? "-", y.sha256 ?? "-") }
        }
        if x.kind == .symlink && x.linkTarget != y.linkTarget {
            differ("link target", RawPath.escape(x.linkTarget ?? []), RawPath.escape(y.linkTarget ?? []))
        }
        if (x.kind == .chardev || x.kind == .blockdev) && x.rdev != y.rdev { differ("device", x.rdev, y.rdev) }
        if !(x.kind == .symlink && options.ignoreSymlinkMtime) && (x.mtime.0 != y.mtime.0 || x.mtime.1 != y.mtime.1) {
            differ("mtime", "\(x.mtime.0).\(String(format: "%09d", x.mtime.1))", "\(y.mtime.0).\(String(format: "%09d", y.mtime.1))")
        }
        if options.compareAtimes && (x.kind == .file || x.kind == .fifo || x.kind == .chardev || x.kind == .blockdev)
            && (x.atime.0 != y.atime.0 || x.atime.1 != y.atime.1) {
            differ("atime", "\(x.atime.0).\(String(format: "%09d", x.atime.1))", "\(y.atime.0).\(String(format: "%09d", y.atime.1))")
        }
        let xa = x.xattrs.filter { options.xattrFilter($0.key) }, ya = y.xattrs.filter { options.xattrFilter($0.key) }
        if xa != ya { differ("xattrs", describe(xa), describe(ya)) }
    }
    let ga = a.hardLinkGroups, gb = b.hardLinkGroups
    for path in Set(ga.keys).union(gb.keys).sorted() where a.entries[path] != nil && b.entries[path] != nil {
        let e = ga[path] ?? [path], g = gb[path] ?? [path]
        if e != g { diffs.append("\(path): hard-link group expected \(e), got \(g)") }
    }
    return diffs
}

func describe(_ xattrs: [String: [UInt8]]) -> String {
    "{" + xattrs.keys.sorted().map { k in k + "=" + xattrs[k]!.map { String(format: "%02x", $0) }.joined() }.joined(separator: ", ") + "}"
}

func report(_ diffs: [String], limit: Int = 60) -> String {
    diffs.count <= limit ? diffs.joined(separator: "\n") : (diffs.prefix(limit) + ["... and \(diffs.count - limit) more"]).joined(separator: "\n")
}
