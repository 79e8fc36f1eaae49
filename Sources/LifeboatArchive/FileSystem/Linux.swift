#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore

/// Linux calls and constants that Swift's Glibc module does not export (it omits GNU-only
/// flags and `<sys/xattr.h>`). The xattr functions are resolved once with `dlsym` so no C
/// shim target is needed; the constants are the same on x86_64 and aarch64 (asm-generic).
enum Linux {
    static let oPath: Int32 = 0o10000000
    static let oNoAtime: Int32 = 0o1000000
    static let atEmptyPath: Int32 = 0x1000
    // O_DIRECT is one of the few flags that differ between the two.
    #if arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
    #endif

    typealias ListXattr = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) -> Int
    typealias GetXattr = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int) -> Int
    typealias SetXattr = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32) -> Int32

    static let llistxattr: ListXattr? = symbol("llistxattr")
    static let lgetxattr: GetXattr? = symbol("lgetxattr")
    static let setxattr: SetXattr? = symbol("setxattr")
    static let lsetxattr: SetXattr? = symbol("lsetxattr")
    typealias FSetXattr = @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32) -> Int32
    static let fsetxattr: FSetXattr? = symbol("fsetxattr")

    private static func symbol<F>(_ name: String) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: F.self)
    }

    /// `dev_t` in Linux encoding from major and minor numbers (glibc's `makedev`).
    static func makeDevice(major: UInt64, minor: UInt64) -> UInt64 {
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
    }
}

/// Calls `body` with a NUL-terminated copy of `bytes`.
/// - Throws: `.invalidArgument` if `bytes` contains NUL (the kernel would truncate it).
func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) throws -> R {
    guard !bytes.contains(0) else {
        throw LifeboatError(.invalidArgument, "path contains a NUL byte: \(String(decoding: bytes, as: UTF8.self))")
    }
    return try (bytes + [0]).withUnsafeBufferPointer { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
}

/// Repeats a call returning -1 with `EINTR`; returns the result and the `errno` of a failure.
func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> (result: T, errno: Int32) {
    while true {
        let result = call()
        if result != -1 { return (result, 0) }
        let code = errno
        if code != EINTR { return (result, code) }
    }
}

/// An owned file descriptor, closed when released.
final class FileDescriptor {
    let raw: Int32
    init(_ raw: Int32) { self.raw = raw }
    deinit { _ = Glibc.close(raw) }
}
