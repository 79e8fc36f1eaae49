import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// An OS thread for blocking pipeline work (file reads, CPU stages), kept off Swift's
/// cooperative pool so blocking calls never starve async tasks.
final class PipelineThread: @unchecked Sendable {
    private var thread: pthread_t = 0

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let attributes = UnsafeMutablePointer<pthread_attr_t>.allocate(capacity: 1)
        defer { attributes.deallocate() }
        pthread_attr_init(attributes)
        pthread_attr_setstacksize(attributes, 4 << 20)
        let rc = pthread_create(&thread, attributes, { raw in
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        pthread_attr_destroy(attributes)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() { pthread_join(thread, nil) }
}

private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Runs `body` on a new OS thread and suspends the calling task until it returns.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        _ = PipelineThread { continuation.resume(with: Result { try body() }) }
    }
}

/// A condition variable with its mutex.
final class Condition: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
    func wait() { pthread_cond_wait(&cond, &mutex) }
    func broadcast() { pthread_cond_broadcast(&cond) }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A FIFO between threads with a capacity in items and in bytes; `push` blocks while full,
/// `pop` while empty. After `close`, `pop` drains what is left and then returns nil.
///
/// With `batch` > 1 a waiting consumer is woken once `batch` items are ready (or on
/// `close`), and a blocked producer once the queue is half drained, instead of once per
/// item: for many small items that are quick to handle, a thread switch per item cost more
/// than the items. Only a consumer whose producer never waits for it may use a batch.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = Condition()
    private var items: [Element?] = []
    private var head = 0
    private var bytes = 0
    private var closed = false
    private var consumersWaiting = 0
    private var producersWaiting = 0
    private let maxItems: Int
    private let maxBytes: Int
    private let batch: Int
    private let weight: (Element) -> Int

    init(maxItems: Int, maxBytes: Int = .max, batch: Int = 1, weight: @escaping (Element) -> Int = { _ in 0 }) {
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.batch = max(1, min(batch, maxItems))
        self.weight = weight
    }

    private var count: Int { items.count - head }

    /// - Returns: false if the queue was closed (the item is dropped).
    @discardableResult
    func push(_ item: Element) -> Bool {
        let w = weight(item)
        return condition.withLock {
            // An item heavier than the whole budget still goes through when the queue is empty.
            while !closed && (count >= maxItems || (bytes + w > maxBytes && count > 0)) {
                if consumersWaiting > 0 { condition.broadcast() }  // full before a batch was: take it
                producersWaiting += 1
                condition.wait()
                producersWaiting -= 1
            }
            if closed { return false }
            items.append(item)
            bytes += w
            if consumersWaiting > 0 && count >= batch { condition.broadcast() }
            return true
        }
    }

    func pop() -> Element? {
        condition.withLock {
            if count == 0 {
                // Sleep until a batch is ready, so that each wake-up finds work for a while.
                while !closed && (count == 0 || (count < batch && producersWaiting == 0)) {
                    consumersWaiting += 1
                    condition.wait()
                    consumersWaiting -= 1
                }
            }
            guard count > 0 else { return nil }
            let item = items[head]!
            items[head] = nil  // release it now, not when the slot is compacted
            head += 1
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            bytes -= weight(item)
            if producersWaiting > 0 && (batch == 1 || count == 0 || (count <= maxItems / 2 && bytes <= maxBytes / 2)) {
                condition.broadcast()
            }
            return item
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
