internal import COpenSSL
internal import CScrypt
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// scrypt key derivation (RFC 7914).
///
/// restic's keys use p = 5: five independent 32 MiB lanes, which OpenSSL runs one after
/// another. Opening a repository waits for them, so with p > 1 the lanes run here on
/// several threads (same result, a third of the time on two cores). Each lane's ROMix runs
/// in C with SSE2 (`CScrypt`), about twice as fast as OpenSSL's scalar code; without SSE2,
/// p = 1 goes to `EVP_PBE_scrypt` and other lanes to a scalar Swift ROMix.
public enum Scrypt {
    /// Largest work factors accepted from a key file; beyond these a file is a memory bomb.
    public static let maxMemory: UInt64 = 1 << 30

    /// - Parameters:
    ///   - threads: lanes computed at once (each needs 128·r·N bytes, or half that, below).
    ///   - tableShift: each lane keeps every 2^tableShift-th row of its table and recomputes
    ///     the others; nil picks `defaultTableShift`. The result does not depend on it.
    public static func derive(password: [UInt8], salt: [UInt8], n: UInt64, r: UInt64, p: UInt64,
                              length: Int = 64, threads: Int = defaultThreads, tableShift: Int? = nil) throws -> [UInt8] {
        guard n > 1, n & (n - 1) == 0, r >= 1, p >= 1, r * p < (1 << 30) else {
            throw LifeboatError(.corrupt, "key file has invalid scrypt parameters N=\(n) r=\(r) p=\(p)")
        }
        let memory = 128 * r * (n + p + 2)
        guard memory <= maxMemory else {
            throw LifeboatError(.unsupported, "key file asks scrypt for \(memory >> 20) MiB of memory; refusing more than \(maxMemory >> 20) MiB")
        }
        let laneMemory = 128 * r * n
        let workers = Int(min(UInt64(max(threads, 1)), p, max(maxMemory / laneMemory, 1)))
        if workers == 1 && LIFEBOAT_ROMIX_SIMD == 0 { return try openSSLDerive(password, salt, n, r, p, length, memory) }

        var lanes = try pbkdf2(password: password, salt: salt, length: Int(p * 128 * r))
        lanes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt32.self)
            let base = UncheckedPointer(words.baseAddress!)
            let laneWords = Int(32 * r)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var mixer = ROMix(n: Int(n), r: Int(r), tableShift: tableShift ?? defaultTableShift(n: n, r: r, p: p))
                for lane in stride(from: worker, to: Int(p), by: workers) {
                    mixer.mix(base.pointer + lane * laneWords)
                }
                mixer.deallocate()
            }
        }
        return try pbkdf2(password: password, salt: lanes, length: length)
    }

    /// Two lanes at once: this machine class has two cores, and each lane is 32 MiB.
    public static let defaultThreads = 2

    /// A lane table of 16 MiB or more keeps every eighth row when it is the only lane
    /// (p = 1, Lifeboat's keys). Opening a repository with such a 32 MiB key then needs 4 MiB
    /// for it instead of 32 (memory limits of backup pods are set by that peak: 30 MiB in all
    /// against 34 keeping every fourth row and 59 keeping all) for 3.5 BlockMix steps more
    /// per row looked up: 0.07 s of CPU becomes 0.12 s. Every sixteenth row would save 2 MiB
    /// more for another 0.1 s. restic's keys (p = 5) keep every fourth row: five lanes run
    /// one after another on each thread, and each step costs them five times.
    public static func defaultTableShift(n: UInt64, r: UInt64, p: UInt64 = 1) -> Int {
        guard LIFEBOAT_ROMIX_SIMD != 0 && 128 * r * n >= 16 << 20 else { return 0 }
        return p == 1 ? 3 : 2
    }

    /// OpenSSL's scrypt, the reference the lanes here are tested against.
    static func openSSLDerive(_ password: [UInt8], _ salt: [UInt8], _ n: UInt64, _ r: UInt64, _ p: UInt64,
                                      _ length: Int, _ memory: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        // A NUL-terminated copy gives a valid pointer even for an empty password.
        let passwordCString = password.map { CChar(bitPattern: $0) } + [0]
        let ok = passwordCString.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    EVP_PBE_scrypt(pw.baseAddress, password.count, s.baseAddress, s.count, n, r, p,
                                   memory + (4 << 20), o.baseAddress, length)
                }
            }
        }
        guard ok == 1 else { throw LifeboatError(.internalError, "scrypt failed: \(openSSLErrorText())") }
        return out
    }

    private static func pbkdf2(password: [UInt8], salt: [UInt8], length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let passwordCString = password.map { CChar(bitPattern: $0) } + [0]
        let ok = passwordCString.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    PKCS5_PBKDF2_HMAC(pw.baseAddress, Int32(password.count), s.baseAddress, Int32(s.count), 1,
                                      EVP_sha256(), Int32(length), o.baseAddress)
                }
            }
        }
        guard ok == 1 else { throw LifeboatError(.internalError, "PBKDF2 failed: \(openSSLErrorText())") }
        return out
    }
}

/// A pointer handed to worker threads that each touch a disjoint lane.
private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt32>
    init(_ pointer: UnsafeMutablePointer<UInt32>) { self.pointer = pointer }
}

/// scrypt's ROMix over one lane of 32·r little-endian words, with its own N-block table.
private struct ROMix {
    let n: Int, r: Int
    let table: UnsafeMutablePointer<UInt32>
    /// x and y, one after the other (the SSE2 code wants them so, 16-byte aligned), then
    /// the SSE2 code's two rows for recomputation.
    let xy: UnsafeMutablePointer<UInt32>
    let block: UnsafeMutablePointer<UInt32>
    var x: UnsafeMutablePointer<UInt32> { xy }
    var y: UnsafeMutablePointer<UInt32> { xy + 32 * r }

    /// Every 2^tableShift-th row is kept (the SSE2 code only; the scalar one keeps all).
    let tableShift: Int

    init(n: Int, r: Int, tableShift: Int) {
        self.n = n; self.r = r
        self.tableShift = LIFEBOAT_ROMIX_SIMD != 0 ? min(tableShift, n.trailingZeroBitCount) : 0
        table = Self.allocateTable((n * 32 * r) >> self.tableShift)
        // x and y, then two rows for recomputing the rows that are not kept.
        xy = UnsafeMutableRawPointer.allocate(byteCount: 128 * r * 4, alignment: 64).bindMemory(to: UInt32.self, capacity: 128 * r)
        block = .allocate(capacity: 16)
    }

    /// The N-block table, page-aligned. Not advised onto huge pages (MADV_HUGEPAGE): with
    /// the kernel's default `defrag=madvise` the first touch then waits for compaction, and
    /// opening a repository took 0.16–0.25 s instead of 0.08 s about half the time (0.09–0.10 s
    /// without). Populating the pages up front (MAP_POPULATE) gained nothing.
    private static func allocateTable(_ words: Int) -> UnsafeMutablePointer<UInt32> {
        let bytes = words * 4
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, bytes) == 0, let raw else { fatalError("out of memory for scrypt (\(bytes >> 20) MiB)") }
        return raw.bindMemory(to: UInt32.self, capacity: words)
    }

    func deallocate() { free(table); xy.deallocate(); block.deallocate() }

    mutating func mix(_ lane: UnsafeMutablePointer<UInt32>) {
        let words = 32 * r
        if LIFEBOAT_ROMIX_SIMD != 0 {
            for k in 0..<words { lane[k] = UInt32(littleEndian: lane[k]) }
            lifeboat_scrypt_romix(lane, r, UInt64(n), UInt32(tableShift), table, xy)
            for k in 0..<words { lane[k] = lane[k].littleEndian }
            return
        }
        for k in 0..<words { x[k] = UInt32(littleEndian: lane[k]) }
        var (current, other) = (x, y)
        for i in 0..<n {
            (table + i * words).update(from: current, count: words)
            blockMix(current, into: other)
            swap(&current, &other)
        }
        let last = (2 * r - 1) * 16
        for _ in 0..<n {
            let row = table + Int(current[last] & UInt32(truncatingIfNeeded: n - 1)) * words
            for k in 0..<words { current[k] ^= row[k] }
            blockMix(current, into: other)
            swap(&current, &other)
        }
        for k in 0..<words { lane[k] = current[k].littleEndian }
    }

    /// BlockMix: Salsa20/8 chained over the 2r 64-byte blocks, even outputs first.
    private func blockMix(_ input: UnsafeMutablePointer<UInt32>, into output: UnsafeMutablePointer<UInt32>) {
        block.update(from: input + (2 * r - 1) * 16, count: 16)
        for i in 0..<2 * r {
            for k in 0..<16 { block[k] ^= input[i * 16 + k] }
            salsa20_8(block)
            (output + ((i & 1) == 0 ? i >> 1 : r + (i >> 1)) * 16).update(from: block, count: 16)
        }
    }
}

@inline(__always) private func rotl(_ v: UInt32, _ n: UInt32) -> UInt32 { (v << n) | (v >> (32 - n)) }

/// The Salsa20/8 core of RFC 7914 §3, in place.
private func salsa20_8(_ b: UnsafeMutablePointer<UInt32>) {
    var (x0, x1, x2, x3, x4, x5, x6, x7) = (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])
    var (x8, x9, x10, x11, x12, x13, x14, x15) = (b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    for _ in 0..<4 {
        x4 ^= rotl(x0 &+ x12, 7); x8 ^= rotl(x4 &+ x0, 9); x12 ^= rotl(x8 &+ x4, 13); x0 ^= rotl(x12 &+ x8, 18)
        x9 ^= rotl(x5 &+ x1, 7); x13 ^= rotl(x9 &+ x5, 9); x1 ^= rotl(x13 &+ x9, 13); x5 ^= rotl(x1 &+ x13, 18)
        x14 ^= rotl(x10 &+ x6, 7); x2 ^= rotl(x14 &+ x10, 9); x6 ^= rotl(x2 &+ x14, 13); x10 ^= rotl(x6 &+ x2, 18)
        x3 ^= rotl(x15 &+ x11, 7); x7 ^= rotl(x3 &+ x15, 9); x11 ^= rotl(x7 &+ x3, 13); x15 ^= rotl(x11 &+ x7, 18)
        x1 ^= rotl(x0 &+ x3, 7); x2 ^= rotl(x1 &+ x0, 9); x3 ^= rotl(x2 &+ x1, 13); x0 ^= rotl(x3 &+ x2, 18)
        x6 ^= rotl(x5 &+ x4, 7); x7 ^= rotl(x6 &+ x5, 9); x4 ^= rotl(x7 &+ x6, 13); x5 ^= rotl(x4 &+ x7, 18)
        x11 ^= rotl(x10 &+ x9, 7); x8 ^= rotl(x11 &+ x10, 9); x9 ^= rotl(x8 &+ x11, 13); x10 ^= rotl(x9 &+ x8, 18)
        x12 ^= rotl(x15 &+ x14, 7); x13 ^= rotl(x12 &+ x15, 9); x14 ^= rotl(x13 &+ x12, 13); x15 ^= rotl(x14 &+ x13, 18)
    }
    b[0] &+= x0; b[1] &+= x1; b[2] &+= x2; b[3] &+= x3; b[4] &+= x4; b[5] &+= x5; b[6] &+= x6; b[7] &+= x7
    b[8] &+= x8; b[9] &+= x9; b[10] &+= x10; b[11] &+= x11; b[12] &+= x12; b[13] &+= x13; b[14] &+= x14; b[15] &+= x15
}
