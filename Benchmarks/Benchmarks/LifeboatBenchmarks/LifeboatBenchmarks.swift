import Benchmark
import Dispatch
import Foundation
import LifeboatArchive
import LifeboatCore
import LifeboatRepository

// Names hold no spaces or slashes: benchmark 1.38.1 writes threshold files with those replaced
// by "_" but looks them up by the raw name, so `thresholds check` would find none.
//
// Lifeboat's hot paths. Every input is generated from a fixed seed, so runs compare like
// with like. Where an iteration moves a known number of bytes, "MiB/s" is recorded; for
// the 1 MiB benchmarks one iteration is one MiB, so `throughput` (#/s) reads as MiB/s.

/// MiB processed per second of the measured part of one iteration.
let mibPerSecond = BenchmarkMetric.custom("MiB/s", polarity: .prefersLarger, useScalingFactor: false)
/// Resident memory growth while building the index, divided by the number of blobs.
let bytesPerBlob = BenchmarkMetric.custom("bytes/blob", polarity: .prefersSmaller, useScalingFactor: false)
/// Index lookups (hits) per second, in thousands.
let kiloLookupsPerSecond = BenchmarkMetric.custom("k lookups/s", polarity: .prefersLarger, useScalingFactor: false)
/// Index lookups (hits) per second through the batched `containsAll`, in thousands.
let kiloBatchedLookupsPerSecond = BenchmarkMetric.custom("k batched lookups/s", polarity: .prefersLarger, useScalingFactor: false)
/// Index inserts per second, in thousands.
let kiloInsertsPerSecond = BenchmarkMetric.custom("k inserts/s", polarity: .prefersLarger, useScalingFactor: false)

/// Tolerances for `thresholds check` (static p90 values in Thresholds/) and for baseline
/// comparisons (p50/p90). This machine is a shared 2-core VM where other jobs run: p90 of a
/// time metric is up to 2x slower on a loaded run than on a quiet one, so time-like metrics
/// get `timing` percent (100: a regression must double the time), malloc counts 50 % (small
/// counts step by 4), resident memory `memory` percent. Smaller regressions show in an A/B
/// `baseline check` run on the same machine at the same time (see README).
/// Every collected metric needs an entry: metrics without one are compared strictly.
func tolerances(_ metrics: [BenchmarkMetric], timing: Double, memory: Double) -> [BenchmarkMetric: BenchmarkThresholds] {
    let timeLike: Set<BenchmarkMetric> = [.wallClock, .cpuTotal, .throughput, mibPerSecond, kiloLookupsPerSecond, kiloBatchedLookupsPerSecond, kiloInsertsPerSecond]
    var out: [BenchmarkMetric: BenchmarkThresholds] = [:]
    for metric in metrics {
        var percent = timeLike.contains(metric) ? timing : metric == .mallocCountTotal ? 50 : memory
        // For rates the tool measures the drop relative to the threshold, which never exceeds
        // 100 %: "50 % slower" in time is a third less in rate, "100 % slower" is half.
        if metric.polarity == .prefersLarger { percent = 100 - 100 / (1 + percent / 100) }
        out[metric] = BenchmarkThresholds(relative: [.p50: percent, .p90: percent])
    }
    return out
}

/// `throughput` (iterations/s, an integer) is only collected for the fast benchmarks: for
/// those taking tenths of a second or more it is too coarse to compare, and they record their
/// own rate (MiB/s, lookups/s).
func configuration(metrics extra: [BenchmarkMetric] = [], timing: Double = 100, memory: Double = 25,
                   mallocs: Bool = true,
                   maxDuration: Duration = .seconds(3), maxIterations: Int = 1000,
                   warmupIterations: Int = 1) -> Benchmark.Configuration {
    let ownRate = extra.contains(mibPerSecond) || extra.contains(kiloLookupsPerSecond) || extra.contains(kiloBatchedLookupsPerSecond)
    let metrics: [BenchmarkMetric] = [.wallClock] + (ownRate ? [] : [.throughput]) + (mallocs ? [.mallocCountTotal] : []) + [.peakMemoryResident] + extra
    return .init(metrics: metrics, timeUnits: .automatic, warmupIterations: warmupIterations, scalingFactor: .one,
                 maxDuration: maxDuration, maxIterations: maxIterations,
                 thresholds: tolerances(metrics, timing: timing, memory: memory))
}

/// Records MiB/s for `bytes` processed since `start`.
func recordThroughput(_ benchmark: Benchmark, bytes: Int, since start: ContinuousClock.Instant) {
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    benchmark.measurement(mibPerSecond, Int((Double(bytes) / Double(1 << 20) / max(seconds, 1e-9)).rounded()))
}

/// Runs blocking work on a GCD thread, off Swift's cooperative pool (BlobWriter.save blocks
/// while its upload queue is full, and the uploads run on the pool).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

func onThread<T>(_ body: @escaping () throws -> T) async throws -> T {
    let box = UncheckedBox(body)
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        DispatchQueue.global().async {
            do { c.resume(returning: try box.value()) } catch { c.resume(throwing: error) }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    let mib = TestData.mebibyte

    // MARK: Chunker

    Benchmark("Chunker_64MiB_random", configuration: configuration(metrics: [mibPerSecond], maxDuration: .seconds(5), maxIterations: 20)) { benchmark, data in
        let gear = GearTable(seed: "3dea7e5d1a6f3b")
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        var chunks = 0
        data.withUnsafeBytes { raw in
            var chunker = Chunker(gear: gear, parameters: .standard)
            var offset = 0
            while offset < raw.count {
                guard let n = chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: raw[offset...])) else { break }
                offset += n
                chunks += 1
            }
        }
        recordThroughput(benchmark, bytes: data.count, since: start)
        blackHole(chunks)
    } setup: {
        TestData.random(count: 64 * mib, seed: 1)
    }

    // MARK: SHA-256

    Benchmark("SHA256_1MiB", configuration: configuration(maxDuration: .seconds(2))) { benchmark, data in
        blackHole(SHA256.hash(data))
    } setup: {
        TestData.random(count: mib, seed: 2)
    }

    // MARK: zstd level 3

    for (kind, seed) in [("text", UInt64(3)), ("random", UInt64(4))] {
        Benchmark("zstd3_compress_1MiB_\(kind)", configuration: configuration(maxDuration: .seconds(2))) { benchmark, state in
            blackHole(state.compressor.compress(state.data))
        } setup: {
            (compressor: ZstdCompressor(level: 3), data: kind == "text" ? TestData.text(count: mib, seed: seed) : TestData.random(count: mib, seed: seed))
        }

        Benchmark("zstd3_stream_compress_1MiB_\(kind)_256KiB_pieces", configuration: configuration(maxDuration: .seconds(2))) { benchmark, state in
            var produced = 0
            state.data.withUnsafeBytes { raw in
                state.compressor.compress(raw, pieceSize: 256 << 10, into: &state.piece.value) { produced += $0.count }
            }
            blackHole(produced)
        } setup: {
            (compressor: ZstdCompressor(level: 3), piece: Ref([UInt8]()),
             data: kind == "text" ? TestData.text(count: mib, seed: seed) : TestData.random(count: mib, seed: seed))
        }

        Benchmark("zstd_decompress_1MiB_\(kind)", configuration: configuration(maxDuration: .seconds(2))) { (benchmark: Benchmark, state: (decompressor: ZstdDecompressor, frame: [UInt8])) throws in
            let out = try state.decompressor.decompress(state.frame.withUnsafeBytes { $0 }, expectedSize: mib)
            blackHole(out)
        } setup: { () -> (decompressor: ZstdDecompressor, frame: [UInt8]) in
            let data = kind == "text" ? TestData.text(count: mib, seed: seed) : TestData.random(count: mib, seed: seed)
            return (decompressor: ZstdDecompressor(), frame: ZstdCompressor(level: 3).compress(data))
        }
    }

    // MARK: Encryption (AES-256-CTR + Poly1305-AES)

    Benchmark("Cipher_seal_1MiB", configuration: configuration(maxDuration: .seconds(2))) { benchmark, state in
        blackHole(state.cipher.seal(state.data))
    } setup: {
        (cipher: Cipher(key: CryptoKey.random()), data: TestData.random(count: mib, seed: 5))
    }

    Benchmark("Cipher_open_1MiB", configuration: configuration(maxDuration: .seconds(2))) { benchmark, state in
        blackHole(try state.cipher.open(state.sealed))
    } setup: {
        let cipher = Cipher(key: CryptoKey.random())
        return (cipher: cipher, sealed: cipher.seal(TestData.random(count: mib, seed: 6)))
    }

    Benchmark("StreamingSealer_1MiB_256KiB_pieces", configuration: configuration(maxDuration: .seconds(2))) { benchmark, state in
        blackHole(state.sealer.begin())
        state.buffer.value.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = min(256 << 10, raw.count - offset)
                state.sealer.update(UnsafeMutableRawBufferPointer(rebasing: raw[offset..<offset + n]))
                offset += n
            }
        }
        blackHole(state.sealer.finish())
    } setup: {
        (sealer: StreamingSealer(key: CryptoKey.random()), buffer: Ref(TestData.random(count: mib, seed: 7)))
    }

    // MARK: Pack writing

    // 256 blobs of 1 MiB (half JSON-like text, half random) through one BlobWriter into a
    // fresh local repository; includes compression, sealing, spooling, upload (rename into
    // data/) and writing the index. Repository creation (scrypt) is not measured.
    Benchmark("PackWrite_256x1MiB_blobs", configuration: configuration(metrics: [mibPerSecond], memory: 50,
                                                                          maxDuration: .seconds(20), maxIterations: 8)) { benchmark, pool in
        let path = scratchDirectory("packs")
        removeTree(path)
        let repository = try await Repository.initialize(backend: LocalBackend(path: path), password: Array("bench".utf8))
        let saver = BlobSaver(repository: repository, index: MasterIndex())
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await saver.runUploads() }
            try await onThread {
                defer { saver.finishInput() }
                let writer = BlobWriter(saver: saver)
                for blob in pool.blobs {
                    try pool.data.withUnsafeBytes { raw in
                        _ = try writer.save(.data, id: blob.id, plaintext: UnsafeRawBufferPointer(rebasing: raw[blob.range]))
                    }
                }
                try writer.flush()
            }
            try await group.waitForAll()
        }
        blackHole(try await saver.writeIndex())
        recordThroughput(benchmark, bytes: pool.blobs.count * mib, since: start)
        benchmark.stopMeasurement()
        removeTree(path)
    } setup: {
        try await onThread { BlobPool(count: 256, blobSize: mib) }
    }

    // MARK: Index

    for (blobs, name, iterations) in [(1_000_000, "MasterIndex_1M", 10), (10_000_000, "MasterIndex_10M", 3)] {
        let firstRun = Ref(true)
        Benchmark(name, configuration: configuration(metrics: [bytesPerBlob, kiloInsertsPerSecond, kiloLookupsPerSecond, kiloBatchedLookupsPerSecond, .peakMemoryResidentDelta],
                                                     memory: 15, mallocs: false, maxDuration: .seconds(blobs >= 10_000_000 ? 60 : 10),
                                                     maxIterations: iterations, warmupIterations: 0)) { benchmark in
            let (perBlob, insertsPerSecond, lookupsPerSecond, batchedPerSecond, found) = indexRun(blobs: blobs)
            // Memory growth is only meaningful in the first iteration: later ones partly reuse
            // pages the previous index freed (glibc keeps arrays under 32 MiB in its heap).
            if firstRun.value { benchmark.measurement(bytesPerBlob, perBlob) }
            firstRun.value = false
            benchmark.measurement(kiloInsertsPerSecond, insertsPerSecond / 1000)
            benchmark.measurement(kiloLookupsPerSecond, lookupsPerSecond / 1000)
            benchmark.measurement(kiloBatchedLookupsPerSecond, batchedPerSecond / 1000)
            if found != blobs { benchmark.error("index lost blobs: found \(found) of \(blobs)") }
        }
    }

    // MARK: Trees

    Benchmark("Tree_encode_1000_nodes", configuration: configuration(maxDuration: .seconds(2))) { benchmark, tree in
        blackHole(tree.encoded())
    } setup: {
        makeTree(nodes: 1000)
    }

    Benchmark("Tree_decode_1000_nodes", configuration: configuration(maxDuration: .seconds(2))) { benchmark, bytes in
        blackHole(try Tree(decoding: bytes))
    } setup: {
        makeTree(nodes: 1000).encoded()
    }

    // MARK: End-to-end backup

    // 200 files, 64 MiB (half JSON-like text, half random), in 10 directories, backed up
    // into a fresh repository on /dev/shm: walk, read, chunk, hash, compress, seal, pack,
    // index and snapshot. Repository creation (scrypt) is not measured.
    Benchmark("Backup_200_files_64MiB", configuration: configuration(metrics: [mibPerSecond], memory: 50,
                                                                     maxDuration: .seconds(20), maxIterations: 8)) { benchmark, source in
        let path = scratchDirectory("backup-repo")
        removeTree(path)
        let repository = try await Repository.initialize(backend: LocalBackend(path: path), password: Array("bench".utf8))
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        let summary = try await Archiver(repository: repository).backup(BackupOptions(paths: [source.path]), index: MasterIndex())
        recordThroughput(benchmark, bytes: source.bytes, since: start)
        benchmark.stopMeasurement()
        if summary.totalFiles != 200 || !summary.errors.isEmpty {
            benchmark.error("backup saw \(summary.totalFiles) files, errors: \(summary.errors)")
        }
        removeTree(path)
    } setup: {
        try await onThread { try makeSourceTree(files: 200, totalBytes: 64 * mib) }
    } teardown: {
        removeTree(scratchDirectory("backup-src"))
        removeTree(scratchDirectory("backup-repo"))
    }
}

/// A mutable value shared by reference with a benchmark closure.
final class Ref<T> {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Distinct 1 MiB blobs cut from a pool: even blobs from a text half, odd from a random half.
struct BlobPool {
    let data: [UInt8]
    let blobs: [(id: ID, range: Range<Int>)]

    init(count: Int, blobSize: Int) {
        let half = 32 << 20
        data = TestData.text(count: half, seed: 10) + TestData.random(count: half, seed: 11)
        let stride = (half - blobSize) / (count / 2)
        var blobs: [(ID, Range<Int>)] = []
        for i in 0..<count {
            let start = (i % 2) * half + (i / 2) * stride
            let range = start..<start + blobSize
            blobs.append((data.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }, range))
        }
        self.blobs = blobs
    }
}

/// Builds an index of `blobs` synthetic entries (16 blobs per pack, as 16 MiB packs of ~1 MiB
/// chunks give), then looks every blob up in a scattered order.
/// - Returns: resident bytes per blob, inserts/s, lookups/s (one at a time, then batched as a
///   file's chunk list is checked: 64 IDs per `containsAll`), blobs found.
func indexRun(blobs: Int) -> (Int, Int, Int, Int, Int) {
    let blobsPerPack = 16
    trimMalloc()
    let before = residentBytes()
    var index = MasterIndex()
    let insertStart = ContinuousClock.now
    // As Repository.loadIndex does: the blob count is known from the index files.
    index.reserve(blobs)
    for i in 0..<blobs {
        let pack = TestData.id(i / blobsPerPack, salt: 0xFACC)
        index.add(TestData.id(i), BlobLocation(pack: pack, type: .data, offset: UInt32(truncatingIfNeeded: (i % blobsPerPack) << 20),
                                               length: 1 << 20, uncompressedLength: 3 << 19))
    }
    let insertSeconds = (ContinuousClock.now - insertStart) / .seconds(1)
    let grown = residentBytes() - before
    // A multiplier coprime to 10^k visits every blob once, in an order unrelated to insertion.
    let step = 6_700_417
    let scattered = (0..<blobs).map { TestData.id(($0 &* step) % blobs) }
    var found = 0
    let lookupStart = ContinuousClock.now
    for id in scattered where index.contains(id, type: .data) { found += 1 }
    let lookupSeconds = (ContinuousClock.now - lookupStart) / .seconds(1)
    var batchedFound = 0
    let batchStart = ContinuousClock.now
    var start = 0
    while start < blobs {
        let end = min(blobs, start + 64)
        if index.containsAll(Array(scattered[start..<end]), type: .data) { batchedFound += end - start }
        start = end
    }
    let batchSeconds = (ContinuousClock.now - batchStart) / .seconds(1)
    blackHole(index)
    return (grown / blobs, Int(Double(blobs) / insertSeconds), Int(Double(blobs) / lookupSeconds),
            Int(Double(blobs) / batchSeconds), min(found, batchedFound))
}

/// A directory listing of `nodes` files with realistic metadata and content IDs.
func makeTree(nodes: Int) -> Tree {
    var rng = SplitMix64(seed: 20)
    var tree = Tree()
    for i in 0..<nodes {
        let isDir = i % 10 == 0
        var node = Node(name: Array("file-\(i)-\(rng.next() % 100_000).\(isDir ? "d" : "log")".utf8), type: isDir ? .dir : .file,
                        mode: isDir ? GoFileMode.dir | 0o755 : 0o644,
                        mtime: Timestamp(seconds: 1_700_000_000 + Int64(rng.next() % 10_000_000), nanoseconds: Int32(rng.next() % 1_000_000_000)),
                        atime: Timestamp(seconds: 1_700_000_000 + Int64(rng.next() % 10_000_000), nanoseconds: Int32(rng.next() % 1_000_000_000)),
                        ctime: Timestamp(seconds: 1_700_000_000 + Int64(rng.next() % 10_000_000), nanoseconds: Int32(rng.next() % 1_000_000_000)),
                        uid: 1000, gid: 1000)
        node.user = "lifeboat"
        node.group = "users"
        node.inode = rng.next() % 10_000_000
        node.deviceID = 2049
        node.links = 1
        if isDir {
            node.subtree = TestData.id(i, salt: 21)
        } else {
            let chunks = Int(rng.next() % 4)
            node.size = UInt64(chunks) << 20 + rng.next() % (1 << 20)
            node.content = (0...chunks).map { TestData.id(i * 8 + $0, salt: 22) }
        }
        tree.nodes.append(node)
    }
    tree.sort()
    return tree
}

/// Writes the backup source tree once; returns its path and size.
func makeSourceTree(files: Int, totalBytes: Int) throws -> (path: String, bytes: Int) {
    let root = scratchDirectory("backup-src")
    removeTree(root)
    var rng = SplitMix64(seed: 30)
    // Sizes: a few large files and many small ones, scaled to add up to totalBytes.
    let weights = (0..<files).map { i -> Double in i % 20 == 0 ? 40 : 1 + Double(rng.next() % 1000) / 250 }
    let scale = Double(totalBytes) / weights.reduce(0, +)
    var sizes = weights.map { Int($0 * scale) }
    sizes[0] += totalBytes - sizes.reduce(0, +)
    let text = TestData.text(count: totalBytes / 2 + (8 << 20), seed: 31)
    let random = TestData.random(count: totalBytes / 2 + (8 << 20), seed: 32)
    var textOffset = 0
    var randomOffset = 0
    for (i, size) in sizes.enumerated() {
        let dir = root + "/dir\(i % 10)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let bytes: ArraySlice<UInt8>
        if i % 2 == 0 {
            if textOffset + size > text.count { textOffset = 0 }
            bytes = text[textOffset..<textOffset + size]
            textOffset += size
        } else {
            if randomOffset + size > random.count { randomOffset = 0 }
            bytes = random[randomOffset..<randomOffset + size]
            randomOffset += size
        }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/file\(i).\(i % 2 == 0 ? "log" : "bin")"))
    }
    return (root, totalBytes)
}
