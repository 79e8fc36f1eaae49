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

    @Test("small buffers: the pool grows to its maximum; large ones are shrunk back to their share of the budget")
    func budgetDecidesBeyondTheMinimum() {
        let unit = 256 << 10  // buffers grow in whole steps of this size
        let pool = BufferPool(minimum: 3, maximum: 6, byteBudget: 12 * unit)
        #expect(pool.share == 2 * unit)
        #expect(cycle(pool, count: 6, size: 1 * unit) == 6, "six one-step buffers fit a budget of twelve")
        #expect(pool.usage.bytes == 6 * unit)

        // Grown to eight steps: over budget, so returned buffers are cut to their share of
        // two steps (not dropped: their first pages stay mapped).
        _ = cycle(pool, count: 6, size: 8 * unit)
        #expect(pool.usage.buffers == 6)
        #expect(pool.usage.bytes == 12 * unit, "over budget, buffers keep only their share: \(pool.usage)")
        var lent = (0..<6).compactMap { _ in pool.take() }
        #expect(lent.map(\.capacity) == Array(repeating: 2 * unit, count: 6))

        // At the budget, any buffer that grew is cut back.
        for buffer in lent.dropFirst(1) { pool.give(buffer) }
        lent.removeLast(5)
        #expect(cycle(pool, count: 1, size: 4 * unit) == 6)
        #expect(pool.usage.bytes == 12 * unit)

        // Below it, a buffer keeps what it grew to, beyond its share.
        let roomy = BufferPool(minimum: 3, maximum: 6, byteBudget: 12 * unit)
        _ = cycle(roomy, count: 1, size: 8 * unit)
        #expect(roomy.usage.bytes == 8 * unit)
        #expect(roomy.take()?.capacity == 8 * unit)

        // All lent and grown: a taker waits for the first one back.
        pool.give(lent.removeLast())
        lent = (0..<6).compactMap { _ in pool.take() }
        let seventh = Locked<ChunkBuffer?>(nil)
        let taker = PipelineThread { let b = pool.take(); seventh.withLock { $0 = b } }
        usleep(50_000)
        #expect(seventh.withLock { $0 } == nil, "a seventh buffer was created beyond the maximum")
        pool.give(lent.removeLast())
        taker.join()
        #expect(seventh.withLock { $0 } != nil, "the waiting walker gets the returned buffer")
        for buffer in lent { pool.give(buffer) }
    }

    @Test("the minimum is created whatever the budget says")
    func minimumIgnoresTheBudget() {
        let pool = BufferPool(minimum: 3, maximum: 6, byteBudget: 1)
        #expect(cycle(pool, count: 3, size: 1 << 20) == 3)
        #expect(cycle(pool, count: 3, size: 1) == 3, "no fourth buffer while over budget")
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
