public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// Maps `items` on `threads` dedicated OS threads (not Dispatch's pool, which runs only
/// one thread per core: blocking reads there leave the cores idle on cold caches).
/// Stops taking new items once the calling task is cancelled; missing results are nil.
public func threadPoolMap<T: Sendable, R: Sendable>(_ items: [T], threads: Int,
                                                    _ body: @escaping @Sendable (T) -> R) async -> [R?] {
    guard !items.isEmpty else { return [] }
    let state = PoolState<R>(count: items.count)
    let workers = max(1, min(threads, items.count))
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<[R?], Never>) in
            state.continuation = continuation
            state.running = workers
            for _ in 0..<workers {
                let box = Unmanaged.passRetained(WorkerBody {
                    while let i = state.take() { state.put(i, body(items[i])) }
                    state.workerDone()
                }).toOpaque()
                var thread = pthread_t()
                let rc = pthread_create(&thread, nil, { raw in
                    Unmanaged<WorkerBody>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, box)
                precondition(rc == 0, "pthread_create failed: \(rc)")
                pthread_detach(thread)
            }
        }
    } onCancel: {
        state.cancel()
    }
}

private final class WorkerBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

private final class PoolState<R: Sendable>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var next = 0
    private let count: Int
    private var cancelled = false
    private var results: [R?]
    var running = 0
    var continuation: CheckedContinuation<[R?], Never>?

    init(count: Int) {
        self.count = count
        results = [R?](repeating: nil, count: count)
        pthread_mutex_init(&mutex, nil)
    }

    private func locked<V>(_ body: () -> V) -> V {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    func take() -> Int? {
        locked {
            guard !cancelled, next < count else { return nil }
            next += 1
            return next - 1
        }
    }

    func put(_ i: Int, _ r: R) { locked { results[i] = r } }
    func cancel() { locked { cancelled = true } }

    func workerDone() {
        let finished: (CheckedContinuation<[R?], Never>, [R?])? = locked {
            running -= 1
            guard running == 0, let c = continuation else { return nil }
            continuation = nil
            return (c, results)
        }
        if let (c, r) = finished { c.resume(returning: r) }
    }
}
