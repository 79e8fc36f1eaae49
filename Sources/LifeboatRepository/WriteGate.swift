import LifeboatCore

/// Holds a command's repository writes back until its lock is confirmed, so the command can
/// start reading while the lock settles (`Repository.withLockStartingEarly`). Opened once
/// the lock is confirmed; refused (every waiting and later write throws) if it is not.
public final class WriteGate: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Void, any Error>])
        case open
        case refused(any Error)
    }

    private let state: Locked<State>

    /// A gate that is closed until `open()` or `refuse(_:)`.
    public init() { state = Locked(.waiting([])) }

    private init(open: Void) { state = Locked(.open) }

    /// A gate that never holds anything back: for writers that did not start early.
    public static let alwaysOpen = WriteGate(open: ())

    /// Returns once writes may go ahead. - Throws: why the lock was refused.
    public func wait() async throws {
        if case .open = state.withLock({ $0 }) { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let verdict: Result<Void, any Error>? = state.withLock { s in
                switch s {
                case .open: return .success(())
                case .refused(let error): return .failure(error)
                case .waiting(var waiters):
                    waiters.append(continuation)
                    s = .waiting(waiters)
                    return nil
                }
            }
            if let verdict { continuation.resume(with: verdict) }
        }
    }

    func open() { settle(.open) }

    func refuse(_ error: any Error) { settle(.refused(error)) }

    private func settle(_ final: State) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiters) = s else { return [] }
            s = final
            return waiters
        }
        for waiter in waiters {
            if case .refused(let error) = final { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }
}
