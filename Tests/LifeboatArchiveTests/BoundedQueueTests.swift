import Glibc
import Testing
@testable import LifeboatArchive
import LifeboatCore

@Suite("pipeline queue")
struct BoundedQueueTests {
    /// Runs `body` on a thread and reports whether it finished within `seconds`; a hang in
    /// the queue then fails the test instead of stalling the whole run.
    func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = Locked(false)
        let thread = PipelineThread { body(); done.withLock { $0 = true } }
        let deadline = Timestamp.now().seconds + Int64(seconds)
        while Timestamp.now().seconds <= deadline {
            if done.withLock({ $0 }) { thread.join(); return true }
            usleep(2_000)
        }
        return false  // the thread is left behind: the process ends with the test run
    }

    @Test("a batching consumer gets every item in order, the last partial batch on close")
    func batchesDeliverEverything() {
        let queue = BoundedQueue<Int>(maxItems: 32, batch: 8)
        let received = Locked<[Int]>([])
        let consumer = PipelineThread { while let n = queue.pop() { received.withLock { $0.append(n) } } }
        for n in 0..<1_003 {
            #expect(queue.push(n))
            if n % 97 == 0 { usleep(200) }  // let the consumer catch up and sleep now and then
        }
        queue.close()
        consumer.join()
        #expect(received.withLock { $0 } == Array(0..<1_003))
    }

    /// Pushes `count` numbers through `queue` to a consumer thread and closes it.
    /// - Returns: what the consumer received, or nil if the two deadlocked.
    func drain(_ queue: BoundedQueue<Int>, count: Int) -> [Int]? {
        let received = Locked<[Int]>([])
        let consumer = PipelineThread { while let n = queue.pop() { received.withLock { $0.append(n) } } }
        let finished = finishes(within: 10) {
            for n in 0..<count { queue.push(n) }
            queue.close()
        }
        guard finished else { return nil }
        consumer.join()
        return received.withLock { $0 }
    }

    @Test("a producer held back by the byte budget wakes a consumer waiting for a batch")
    func byteBudgetBeforeABatch() {
        // Two items fill the byte budget long before a batch of 8 is ready: the consumer
        // must be woken by the blocked producer, or both wait for ever.
        let queue = BoundedQueue<Int>(maxItems: 32, maxBytes: 100, batch: 8) { _ in 40 }
        let received = drain(queue, count: 50)
        #expect(received != nil, "producer and consumer deadlocked")
        #expect(received == nil || received == Array(0..<50))
    }

    @Test("a consumer waiting for a batch sees what is there once the producer blocks on the item limit")
    func itemLimitBeforeABatch() {
        let queue = BoundedQueue<Int>(maxItems: 4, batch: 8)  // the batch is capped at the limit
        let received = drain(queue, count: 40)
        #expect(received != nil, "producer and consumer deadlocked")
        #expect(received == nil || received == Array(0..<40))
    }

    @Test("close wakes a consumer that waits for a batch with fewer items ready")
    func closeFlushesAPartialBatch() {
        let queue = BoundedQueue<Int>(maxItems: 64, batch: 16)
        let received = Locked<[Int]>([])
        let consumer = PipelineThread { while let n = queue.pop() { received.withLock { $0.append(n) } } }
        usleep(20_000)  // the consumer is asleep on an empty queue
        for n in 0..<3 { queue.push(n) }
        usleep(20_000)
        #expect(received.withLock { $0 }.isEmpty, "woken before a batch was ready")
        queue.close()
        consumer.join()
        #expect(received.withLock { $0 } == [0, 1, 2])
    }
}
