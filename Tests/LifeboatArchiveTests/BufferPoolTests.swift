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
        let pool = BufferPool(minimum: 3, maximum: 6, byteBudget: 12 << 10)
        #expect(cycle(pool, count: 6, size: 1 << 10) == 6, "six 1 KiB buffers fit a 12 KiB budget")
        #expect(pool.usage.bytes == 6 << 10)

        // Grown to 8 KiB: over budget, so returned buffers are dropped down to the minimum.
        _ = cycle(pool, count: 6, size: 8 << 10)
        #expect(pool.usage.buffers == 3, "over budget, the pool keeps only its minimum: \(pool.usage)")
        #expect(pool.usage.bytes == 24 << 10)

        // The minimum stays usable whatever its size; a fourth buffer is not created while over budget.
        var lent = (0..<3).compactMap { _ in pool.take() }
        #expect(lent.count == 3)
        let fourth = Locked<ChunkBuffer?>(nil)
        let taker = PipelineThread { let b = pool.take(); fourth.withLock { $0 = b } }
        usleep(50_000)
        #expect(fourth.withLock { $0 } == nil, "a fourth buffer was created over budget")
        pool.give(lent.removeLast())
        taker.join()
        #expect(fourth.withLock { $0 }?.bytes.count == 8 << 10, "the waiting walker gets the returned buffer")
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
