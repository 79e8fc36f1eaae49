import Glibc
import Testing
@testable import LifeboatArchive
import LifeboatCore

@Suite("backup buffer pool")
struct BufferPoolTests {
    /// Takes and returns buffers grown to `size`, `count` of them at once; returns how many existed.
    func cycle(_ pool: BufferPool, count: Int, size: Int) -> Int {
        var lent: [ChunkBuffer] = []
        for _ in 0..<count {
            guard var buffer = pool.take() else { return -1 }
            buffer.reserve(size)
            lent.append(buffer)
        }
        let created = pool.usage.buffers
        for buffer in lent { pool.give(buffer) }
        return created
    }

    @Test("small buffers: the pool grows to its maximum; large ones shrink it back to the minimum")
    func budgetDecidesBeyondTheMinimum() {
        let unit = 256 << 10  // buffers grow in whole steps of this size
        let pool = BufferPool(minimum: 3, maximum: 6, byteBudget: 12 * unit)
        #expect(cycle(pool, count: 6, size: 1 * unit) == 6, "six one-step buffers fit a budget of twelve")
        #expect(pool.usage.bytes == 6 * unit)

        // Grown to eight steps: over budget, so returned buffers are dropped down to the minimum.
        _ = cycle(pool, count: 6, size: 8 * unit)
        #expect(pool.usage.buffers == 3, "over budget, the pool keeps only its minimum: \(pool.usage)")
        #expect(pool.usage.bytes == 24 * unit)

        // The minimum stays usable whatever its size; a fourth buffer is not created while over budget.
        var lent = (0..<3).compactMap { _ in pool.take() }
        #expect(lent.count == 3)
        let fourth = Locked<ChunkBuffer?>(nil)
        let taker = PipelineThread { let b = pool.take(); fourth.withLock { $0 = b } }
        usleep(50_000)
        #expect(fourth.withLock { $0 } == nil, "a fourth buffer was created over budget")
        pool.give(lent.removeLast())
        taker.join()
        #expect(fourth.withLock { $0 }?.capacity == 8 * unit, "the waiting walker gets the returned buffer")
    }

    @Test("a buffer keeps what it holds when it grows, in steps, to chunk size and beyond")
    func growingKeepsTheBytes() {
        var buffer = ChunkBuffer()
        #expect(buffer.capacity == 0)
        buffer.reserve(300_000)
        #expect(buffer.capacity >= 300_000 && buffer.capacity % (256 << 10) == 0)
        func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        buffer.withUnsafeMutableBytes { raw in for i in 0..<300_000 { raw[i] = pattern(i) } }
        buffer.length = 300_000
        // Another mapping right behind it makes the kernel move the pages to grow it.
        var neighbour = ChunkBuffer()
        neighbour.reserve(1 << 20)
        for size in [1 << 20, 9 << 20, 9 << 20 + 1] {
            buffer.reserve(size)
            #expect(buffer.capacity >= size)
            let intact = buffer.withUnsafeBytes { raw in (0..<300_000).allSatisfy { raw[$0] == pattern($0) } }
            #expect(intact, "bytes lost growing to \(size)")
        }
        // The new part is writable to its end.
        buffer.withUnsafeMutableBytes { raw in raw[raw.count - 1] = 7 }
        #expect(buffer.withUnsafeBytes { $0[$0.count - 1] } == 7)
        #expect(neighbour.capacity == 1 << 20)
    }

    @Test("close wakes a waiting taker with nil")
    func closeWakesTakers() {
        let pool = BufferPool(minimum: 1, maximum: 1, byteBudget: 1 << 10)
        let held = pool.take()
        #expect(held != nil)
        let result = Locked<Bool?>(nil)
        let taker = PipelineThread { let b = pool.take(); result.withLock { $0 = b == nil } }
        usleep(20_000)
        pool.close()
        taker.join()
        #expect(result.withLock { $0 } == true)
    }
}
