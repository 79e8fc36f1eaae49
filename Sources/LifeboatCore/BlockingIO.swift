import Dispatch

/// Runs blocking work (file system calls) on a dispatch queue instead of the cooperative
/// thread pool, so a slow disk cannot starve the async tasks of CPU work.
package func blockingIO<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// Waits on the calling OS thread for async work. Only for dedicated pipeline threads,
/// never from inside a task: it blocks the thread it runs on.
package func awaitFromThread<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

// Written once before the semaphore signals, read once after it: the semaphore orders them.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
