#if canImport(Glibc)
import Glibc
#endif
public import LifeboatCore

/// Small POSIX helpers (no Foundation in library targets).
enum System {
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LifeboatError.posix("cannot open", path, errno: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw LifeboatError.posix("cannot read", path, errno: errno) }
            if n == 0 { return out }
            out += buffer[..<n]
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes via a temporary file and rename, so a reader never sees half a file.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let temp = path + ".tmp-lifeboat"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LifeboatError.posix("cannot create", temp, errno: errno) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 { if errno == EINTR { continue }; close(fd); throw LifeboatError.posix("cannot write", temp, errno: errno) }
            done += n
        }
        close(fd)
        guard rename(temp, path) == 0 else { throw LifeboatError.posix("cannot rename to", path, errno: errno) }
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw LifeboatError.posix("cannot create directory", current, errno: errno)
            }
        }
    }

    /// Names in a directory, sorted, without "." and "..".
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw LifeboatError.posix("cannot list", path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    static func glob(_ pattern: String, matches text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    static func shellQuote(_ s: String) -> String { "'" + s.replacing("'", with: "'\\''") + "'" }

    /// Runs a shell command line; returns its standard output and exit status.
    static func run(_ commandLine: String) throws -> (output: [UInt8], status: Int32) {
        try runShellCommand(commandLine, what: commandLine)
    }
}

/// Runs `body(i)` for i in 0..<count on up to `threads` OS threads (blocking HTTP calls
/// must not run on Swift's cooperative pool). Returns when all are done.
func parallelFor(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let next = Locked(0)
    let workers = min(threads, count)
    var handles: [pthread_t] = []
    for _ in 0..<workers {
        let work: @Sendable () -> Void = {
            while true {
                let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                if i >= count { return }
                body(i)
            }
        }
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<WorkBox>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        if rc == 0 { handles.append(thread) } else { Unmanaged<WorkBox>.fromOpaque(box).release(); work() }
    }
    for h in handles { pthread_join(h, nil) }
}

private final class WorkBox {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Runs blocking work (HTTP through libcurl, waits) on its own OS thread and suspends the
/// calling task until it returns, keeping the cooperative pool free.
public func onBlockingThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        parallelDetached { continuation.resume(with: Result { try body() }) }
    }
}

private func parallelDetached(_ work: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<WorkBox>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box)
    if rc == 0 { pthread_detach(thread) } else { Unmanaged<WorkBox>.fromOpaque(box).release(); work() }
}
