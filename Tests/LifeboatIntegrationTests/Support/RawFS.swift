import Foundation
import Glibc
import LifeboatCore

/// A file system path as raw bytes (names need not be UTF-8).
struct RawPath: Hashable, Comparable, CustomStringConvertible, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { bytes = Array(string.utf8) }

    static func < (a: RawPath, b: RawPath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    static func + (a: RawPath, b: RawPath) -> RawPath {
        if a.bytes.isEmpty { return b }
        return RawPath(a.bytes + [UInt8(ascii: "/")] + b.bytes)
    }

    var parent: RawPath? {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return RawPath(Array(bytes[..<slash]))
    }

    /// Printable form: UTF-8 as is, control and invalid bytes as \xHH, backslash doubled.
    var description: String { RawPath.escape(bytes) }

    static func escape(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // Take the longest valid UTF-8 scalar at i, else one byte as \xHH.
            var decoded: Unicode.Scalar?
            var length = 0
            for n in 1...4 where i + n <= bytes.count {
                if let s = String(validating: bytes[i..<(i + n)], as: UTF8.self), s.unicodeScalars.count == 1 {
                    decoded = s.unicodeScalars.first
                    length = n
                    break
                }
            }
            if let scalar = decoded, scalar.value >= 0x20, scalar.value != 0x7f {
                out += scalar == "\\" ? "\\\\" : String(scalar)
                i += length
            } else {
                out += String(format: "\\x%02x", bytes[i])
                i += 1
            }
        }
        return out
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let call: String
    let path: String
    let code: Int32
    var description: String { "\(call)(\(path)) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// Calls `body` with a NUL-terminated copy of `path`.
func withCPath<R>(_ path: RawPath, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    let terminated = path.bytes + [0]
    return try terminated.withUnsafeBufferPointer { buffer in
        try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: terminated.count) { try body($0) }
    }
}

/// Linux `dev_t` encoding (glibc's makedev/major/minor, which Swift does not import).
enum Device {
    static func make(major: UInt32, minor: UInt32) -> UInt64 {
        let ma = UInt64(major), mi = UInt64(minor)
        return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xff) << 12) | ((ma & ~0xfff) << 32)
    }
    static func major(_ dev: UInt64) -> UInt32 { UInt32(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)) }
    static func minor(_ dev: UInt64) -> UInt32 { UInt32((dev & 0xff) | ((dev >> 12) & ~0xff)) }
}

/// Thin wrappers over the system calls the tests need, on raw paths, throwing on failure.
enum FS {
    @discardableResult
    static func call(_ name: String, _ path: RawPath, _ body: (UnsafePointer<CChar>) -> Int32) throws -> Int32 {
        let result = withCPath(path, body)
        if result < 0 { throw POSIXFailure(call: name, path: path.description, code: errno) }
        return result
    }

    static func mkdir(_ path: RawPath, mode: mode_t = 0o755) throws {
        try call("mkdir", path) { Glibc.mkdir($0, mode) }
    }

    static func writeFile(_ path: RawPath, _ contents: [UInt8], mode: mode_t = 0o644) throws {
        let fd = try call("open", path) { Glibc.open($0, O_WRONLY | O_CREAT | O_TRUNC, mode) }
        defer { close(fd) }
        var offset = 0
        while offset < contents.count {
            let n = contents[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw POSIXFailure(call: "write", path: path.description, code: errno) }
            offset += n
        }
    }

    /// A file of `size` bytes that holds `pieces` (offset, bytes) and holes elsewhere.
    static func writeSparse(_ path: RawPath, size: Int, pieces: [(Int, [UInt8])]) throws {
        let fd = try call("open", path) { Glibc.open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        defer { close(fd) }
        for (offset, bytes) in pieces {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n != bytes.count { throw POSIXFailure(call: "pwrite", path: path.description, code: errno) }
        }
        if ftruncate(fd, off_t(size)) != 0 { throw POSIXFailure(call: "ftruncate", path: path.description, code: errno) }
    }

    static func readFile(_ path: RawPath) throws -> [UInt8] {
        let fd = try call("open", path) { Glibc.open($0, O_RDONLY) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw POSIXFailure(call: "read", path: path.description, code: errno) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    static func symlink(_ path: RawPath, to target: RawPath) throws {
        try call("symlink", path) { link in withCPath(target) { Glibc.symlink($0, link) } }
    }

    static func hardlink(_ path: RawPath, to existing: RawPath) throws {
        try call("link", path) { new in withCPath(existing) { Glibc.link($0, new) } }
    }

    static func mkfifo(_ path: RawPath, mode: mode_t = 0o644) throws {
        try call("mkfifo", path) { Glibc.mkfifo($0, mode) }
    }

    static func mknodChar(_ path: RawPath, major: UInt32, minor: UInt32, mode: mode_t = 0o644) throws {
        let dev = dev_t(Device.make(major: major, minor: minor))
        try call("mknod", path) { Glibc.mknod($0, S_IFCHR | mode, dev) }
    }

    static func chmod(_ path: RawPath, _ mode: mode_t) throws {
        try call("chmod", path) { Glibc.chmod($0, mode) }
    }

    static func lchown(_ path: RawPath, uid: uid_t, gid: gid_t) throws {
        try call("lchown", path) { Glibc.lchown($0, uid, gid) }
    }

    static func unlink(_ path: RawPath) throws {
        try call("unlink", path) { Glibc.unlink($0) }
    }

    /// Sets atime and mtime of `path` itself (a symlink is not followed).
    static func setTimes(_ path: RawPath, mtime: (Int, Int), atime: (Int, Int)? = nil) throws {
        let a = atime ?? mtime
        var times = [timespec(tv_sec: a.0, tv_nsec: a.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
        try call("utimensat", path) { p in times.withUnsafeMutableBufferPointer { utimensat(AT_FDCWD, p, $0.baseAddress, AT_SYMLINK_NOFOLLOW) } }
    }

    static func lstat(_ path: RawPath) throws -> stat {
        var st = stat()
        try call("lstat", path) { Glibc.lstat($0, &st) }
        return st
    }

    static func exists(_ path: RawPath) -> Bool {
        var st = stat()
        return withCPath(path) { Glibc.lstat($0, &st) } == 0
    }

    static func readlink(_ path: RawPath) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = try call("readlink", path) { p in
            Int32(buffer.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { Glibc.readlink(p, $0, b.count) }
            })
        }
        return Array(buffer[0..<Int(n)])
    }

    /// Entry names of a directory (without `.` and `..`), as raw bytes.
    static func list(_ path: RawPath) throws -> [[UInt8]] {
        guard let dir = withCPath(path, { opendir($0) }) else { throw POSIXFailure(call: "opendir", path: path.description, code: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    // Extended attributes through the libc symbols (not in Swift's Glibc module map).
    private typealias ListXattr = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias GetXattr = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int) -> Int
    private typealias SetXattr = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32) -> Int32

    private static func symbol<F>(_ name: String) -> F {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else {
            fatalError("libc has no \(name)")
        }
        return unsafeBitCast(pointer, to: F.self)
    }

    nonisolated(unsafe) private static let llistxattrFn: ListXattr = symbol("llistxattr")
    nonisolated(unsafe) private static let lgetxattrFn: GetXattr = symbol("lgetxattr")
    nonisolated(unsafe) private static let lsetxattrFn: SetXattr = symbol("lsetxattr")

    static func setXattr(_ path: RawPath, _ name: String, _ value: [UInt8]) throws {
        try call("lsetxattr", path) { p in value.withUnsafeBytes { lsetxattrFn(p, name, $0.baseAddress, $0.count, 0) } }
    }

    /// All extended attributes of `path` itself (symlinks not followed).
    static func xattrs(_ path: RawPath) throws -> [String: [UInt8]] {
        let size = try withCPath(path) { p -> Int in
            let n = llistxattrFn(p, nil, 0)
            if n < 0 { throw POSIXFailure(call: "llistxattr", path: path.description, code: errno) }
            return n
        }
        if size == 0 { return [:] }
        var list = [CChar](repeating: 0, count: size + 1)
        let got = try withCPath(path) { p -> Int in
            let n = list.withUnsafeMutableBufferPointer { llistxattrFn(p, $0.baseAddress, size) }
            if n < 0 { throw POSIXFailure(call: "llistxattr", path: path.description, code: errno) }
            return n
        }
        var result: [String: [UInt8]] = [:]
        let names = list[0..<got].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        for name in names {
            let value = try withCPath(path) { p -> [UInt8] in
                let n = lgetxattrFn(p, name, nil, 0)
                if n < 0 { throw POSIXFailure(call: "lgetxattr \(name)", path: path.description, code: errno) }
                var buffer = [UInt8](repeating: 0, count: n)
                let m = buffer.withUnsafeMutableBytes { lgetxattrFn(p, name, $0.baseAddress, n) }
                if m < 0 { throw POSIXFailure(call: "lgetxattr \(name)", path: path.description, code: errno) }
                return Array(buffer[0..<m])
            }
            result[name] = value
        }
        return result
    }

    /// Linux O_NOATIME (not exported to Swift): reads that leave the access time alone.
    static let oNoAtime: Int32 = 0o1000000

    /// SHA-256 of a file's content, streamed. Opened with O_NOATIME where allowed (owner or
    /// root), so that comparing trees does not move the access times being compared.
    static func sha256(_ path: RawPath) throws -> String {
        var fd = withCPath(path) { Glibc.open($0, O_RDONLY | oNoAtime) }
        if fd < 0 && errno == EPERM { fd = withCPath(path) { Glibc.open($0, O_RDONLY) } }
        if fd < 0 { throw POSIXFailure(call: "open", path: path.description, code: errno) }
        defer { close(fd) }
        let hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw POSIXFailure(call: "read", path: path.description, code: errno) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().hex
    }
}

/// Deterministic pseudo-random bytes (SplitMix64), so every run builds the same tree.
struct SeededBytes {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count { withUnsafeBytes(of: next()) { out += $0 } }
        return Array(out.prefix(count))
    }

    /// Compressible text: log-like lines from a small vocabulary.
    mutating func text(_ count: Int) -> [UInt8] {
        let words = ["backup", "restore", "chunk", "pack", "index", "snapshot", "tree", "blob", "lifeboat", "restic",
                     "repository", "key", "lock", "prune", "check", "data"]
        var out = [UInt8]()
        out.reserveCapacity(count + 200)
        var line = 0
        while out.count < count {
            line += 1
            var s = "\(line): "
            for _ in 0..<(6 + Int(next() % 8)) { s += words[Int(next() % UInt64(words.count))] + " " }
            out += Array((s + "\n").utf8)
        }
        return Array(out.prefix(count))
    }
}
