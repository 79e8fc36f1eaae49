/// Content-defined chunking with a gear rolling hash and FastCDC's normalized cut masks.
///
/// Boundaries depend only on the content and the gear table, which is derived from the
/// repository's chunker polynomial: stable across runs and machines, different per
/// repository (so chunk sizes do not fingerprint known files across repositories).
/// Sizes: at least 512 KiB, about 1 MiB on average, at most 8 MiB (restic's bounds).
public struct ChunkerParameters: Sendable, Equatable {
    public var minSize: Int
    public var normalSize: Int
    public var maxSize: Int
    /// Mask for positions before `normalSize`: more bits, so cuts are rarer.
    public var strictMask: UInt64
    /// Mask for positions from `normalSize` on: fewer bits, so cuts come sooner.
    public var looseMask: UInt64

    public static let standard = ChunkerParameters(minSize: 512 << 10, normalSize: 1 << 20, maxSize: 8 << 20,
                                                   strictBits: 22, looseBits: 18)

    public init(minSize: Int, normalSize: Int, maxSize: Int, strictBits: Int, looseBits: Int) {
        precondition(minSize >= 64 && minSize <= normalSize && normalSize <= maxSize)
        self.minSize = minSize
        self.normalSize = normalSize
        self.maxSize = maxSize
        // High bits: in a gear hash bit k depends on the last k+1 bytes only.
        strictMask = ~UInt64(0) << UInt64(64 - strictBits)
        looseMask = ~UInt64(0) << UInt64(64 - looseBits)
    }
}

public struct GearTable: Sendable {
    public let values: [UInt64]

    /// A table given value by value (tests).
    public init(values: [UInt64]) {
        precondition(values.count == 256)
        self.values = values
    }

    /// Derives 256 values as SHA-256("lifeboat-gear-v1" ‖ seed ‖ i).
    public init(seed: String) {
        let hasher = SHA256()
        var table = [UInt64]()
        table.reserveCapacity(256)
        for i in 0..<256 {
            hasher.update(Array("lifeboat-gear-v1\u{0}\(seed)\u{0}".utf8))
            hasher.update([UInt8(i)])
            table.append(hasher.finalize().w0)
        }
        values = table
    }
}

/// Finds chunk boundaries in a byte stream fed piece by piece.
public struct Chunker: Sendable {
    public let parameters: ChunkerParameters
    private let gear: [UInt64]
    private var hash: UInt64 = 0
    /// Bytes of the current chunk seen so far.
    private var length = 0

    /// The hash after 64 or more zero bytes, whatever came before: h = 2h + g[0] has the
    /// fixed point −g[0], and every earlier bit has been shifted out.
    private let zeroRunHash: UInt64
    /// Whether that hash matches neither cut mask (true for all but ~1 in 2^18 tables);
    /// the loose mask's bits are a subset of the strict mask's.
    private let zeroRunNeverCuts: Bool

    public init(gear: GearTable, parameters: ChunkerParameters = .standard) {
        self.gear = gear.values
        self.parameters = parameters
        zeroRunHash = 0 &- gear.values[0]
        zeroRunNeverCuts = zeroRunHash & parameters.looseMask != 0
    }

    /// Scans `bytes`, the continuation of the current chunk. Returns how many of them
    /// belong to the chunk if it ends inside `bytes` (then the chunker starts a new chunk),
    /// or nil if all of them belong to it and more input is needed.
    public mutating func nextBoundary(in bytes: UnsafeRawBufferPointer) -> Int? {
        let p = parameters
        var i = 0
        let n = bytes.count
        // The first minSize-64 bytes of a chunk cannot hold a cut and need no hashing:
        // the hash only depends on the last 64 bytes.
        let hashStart = p.minSize - 64
        if length < hashStart {
            let skip = min(hashStart - length, n)
            i = skip
            length += skip
            if length < hashStart { return nil }
            hash = 0
        }
        // Returns the cut (if any) and the hash state to carry into the next call.
        let (cut, h, len) = gear.withUnsafeBufferPointer { g -> (Int?, UInt64, Int) in
            var h = hash
            var len = length
            while i < n {
                // Hash in blocks of at most 256 bytes that stay within one phase of the
                // chunk's length, so the inner loops test one fixed mask (or none):
                // after a byte, length < minSize cannot cut, < normalSize cuts on the strict
                // mask, up to maxSize on the loose one, and maxSize always cuts.
                let phaseEnd: Int, mask: UInt64?
                if len < p.minSize - 1 {
                    (phaseEnd, mask) = (p.minSize - 1, nil)
                } else if len < p.normalSize - 1 {
                    (phaseEnd, mask) = (p.normalSize - 1, p.strictMask)
                } else {
                    (phaseEnd, mask) = (p.maxSize, p.looseMask)
                }
                let blockEnd = min(n, i + 256, i + (phaseEnd - len))
                let blockStart = i
                if let mask {
                    while i < blockEnd {
                        h = (h << 1) &+ g[Int(bytes[i])]
                        i += 1
                        if h & mask == 0 { return (i, 0, 0) }
                    }
                } else {
                    while i < blockEnd {
                        h = (h << 1) &+ g[Int(bytes[i])]
                        i += 1
                    }
                }
                len += i - blockStart
                if len >= p.maxSize { return (i, 0, 0) }
                if h == zeroRunHash && zeroRunNeverCuts && i < n {
                    // Each further zero byte leaves the hash as it is and cannot cut,
                    // so a run of zeros (free space in volume images) is skipped
                    // unhashed, up to the maximum chunk size. Same cuts as hashing it.
                    let zeros = Self.zeroBytes(in: bytes, from: i, limit: p.maxSize - len)
                    i += zeros
                    len += zeros
                    if len >= p.maxSize { return (i, 0, 0) }
                }
            }
            return (nil, h, len)
        }
        hash = h
        length = len
        return cut
    }

    /// How many bytes from `start` are zero, counting at most `limit`.
    public static func zeroBytes(in bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) -> Int {
        let end = start + min(limit, bytes.count - start)
        var i = start
        while i + 8 <= end && bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) == 0 { i += 8 }
        while i < end && bytes[i] == 0 { i += 1 }
        return i - start
    }

    /// Forgets the current chunk (call at the start of each file).
    public mutating func reset() {
        hash = 0
        length = 0
    }
}
