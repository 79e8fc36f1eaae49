import Foundation
import LifeboatCore

/// SplitMix64: a tiny, fast, seeded generator, so every run benchmarks the same bytes.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum TestData {
    static let mebibyte = 1 << 20

    /// Incompressible bytes.
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            let words = count / 8
            for i in 0..<words { raw.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
            for i in (words * 8)..<count { raw[i] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return out
    }

    private static let words: [String] = [
        "backup", "restore", "snapshot", "chunk", "index", "pack", "tree", "blob", "error", "warning", "info",
        "debug", "request", "response", "latency", "user", "session", "connection", "timeout", "retry", "disk",
        "memory", "cpu", "thread", "queue", "worker", "upload", "download", "bytes", "files", "directory",
        "the", "a", "of", "to", "and", "in", "is", "for", "on", "with", "from", "status", "ok", "failed",
    ]

    /// Text that compresses like JSON logs (zstd-3 ratio roughly 4–7): a timestamp, a level,
    /// numbers and words drawn from a small vocabulary.
    static func text(count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(count + 256)
        var t: UInt64 = 1_700_000_000_000
        while out.count < count {
            t += rng.next() % 5000
            let r = rng.next()
            out.append(contentsOf: #"{"ts":"#.utf8)
            out.append(contentsOf: String(t).utf8)
            out.append(contentsOf: #","level":""#.utf8)
            out.append(contentsOf: ["info", "warn", "debug", "error"][Int(r & 3)].utf8)
            out.append(contentsOf: #"","pid":"#.utf8)
            out.append(contentsOf: String(1000 + (r >> 8) % 64).utf8)
            out.append(contentsOf: #","msg":""#.utf8)
            for k in 0..<(3 + Int((r >> 16) % 9)) {
                if k > 0 { out.append(0x20) }
                out.append(contentsOf: words[Int(rng.next() % UInt64(words.count))].utf8)
            }
            out.append(contentsOf: #"","dur_us":"#.utf8)
            out.append(contentsOf: String(rng.next() % 100_000).utf8)
            out.append(contentsOf: "}\n".utf8)
        }
        out.removeLast(out.count - count)
        return out
    }

    /// A synthetic blob ID: 32 pseudo-random bytes derived from `i` (no storage needed).
    @inline(__always)
    static func id(_ i: Int, salt: UInt64 = 0x5EED) -> ID {
        let x = UInt64(truncatingIfNeeded: i) &* 4 &+ salt &* 0x1_0000_0000
        return ID(w0: SplitMix64.mix(x), w1: SplitMix64.mix(x &+ 1), w2: SplitMix64.mix(x &+ 2), w3: SplitMix64.mix(x &+ 3))
    }
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A scratch directory: /dev/shm when it exists (so disk speed does not enter), else the temp dir.
func scratchDirectory(_ name: String) -> String {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return base + "/lifeboat-bench-\(getpid())-" + name
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// glibc's malloc_trim(0): returns free heap pages to the system (no-op where it is missing).
/// Looked up at run time: the Glibc module does not import <malloc.h>.
func trimMalloc() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}
