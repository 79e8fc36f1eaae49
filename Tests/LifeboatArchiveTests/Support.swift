#if canImport(Glibc)
import Glibc
#endif
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

/// A fresh directory under /tmp, removed with its contents on release.
final class TemporaryDirectory {
    let path: RawPath

    init() throws {
        var template = Array("/tmp/lifeboat-fs-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LifeboatError.posix("mkdtemp", "/tmp", errno: errno) }
        path = RawPath(String(cString: made))
    }

    deinit { try? Self.remove(path) }

    func child(_ name: String) -> RawPath { path.appending(component: Array(name.utf8)) }

    static func remove(_ path: RawPath) throws {
        let status = try FileStatus.lstat(path)
        if status.isDirectory {
            _ = chmod(path.display, 0o700)
            for name in try Directory.entries(of: path) { try remove(path.appending(component: name)) }
            _ = try withCString(path.bytes) { rmdir($0) }
        } else {
            _ = try withCString(path.bytes) { unlink($0) }
        }
    }
}

/// Runs a C call on a path and turns -1 into a thrown error.
func check(_ what: String, _ path: RawPath, _ call: (UnsafePointer<CChar>) -> Int32) throws {
    let code = try withCString(path.bytes) { call($0) == 0 ? 0 : errno }
    if code != 0 { throw LifeboatError.posix(what, path.display, errno: code) }
}

func writeFile(_ path: RawPath, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
    let fd = try withCString(path.bytes) { open($0, O_CREAT | O_WRONLY | O_TRUNC, mode) }
    guard fd >= 0 else { throw LifeboatError.posix("open", path.display, errno: errno) }
    defer { close(fd) }
    guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw LifeboatError.posix("write", path.display, errno: errno)
    }
    try check("chmod", path) { chmod($0, mode) }
}

func readFile(_ path: RawPath) throws -> [UInt8] {
    let reader = try FileReader(path: path)
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        out += buffer[..<count]
        if count < buffer.count { return out }
    }
}

func setXattr(_ path: RawPath, _ name: String, _ value: [UInt8]) throws {
    let code = ExtendedAttributes.set(.init(name: name, value: value), path: path)
    if code != 0 { throw LifeboatError.posix("setxattr \(name)", path.display, errno: code) }
}

func setTimes(_ path: RawPath, seconds: Int, nanoseconds: Int) throws {
    var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
    try check("utimensat", path) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
}

func exists(_ path: RawPath) -> Bool { (try? FileStatus.lstat(path)) != nil }
