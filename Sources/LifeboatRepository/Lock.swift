public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// Repository locks with restic's rules (docs/format.md): any number of shared locks, or
/// one exclusive lock and nothing else. A lock is refreshed every 5 minutes and another
/// host's lock is stale after 30 minutes; on this host, also once its process is gone.
extension Repository {
    public static let lockRefreshInterval: UInt64 = 5 * 60
    public static let lockStaleAfter: Int64 = 30 * 60

    /// Runs `body` holding a lock; refreshes it meanwhile and removes it afterwards.
    /// - Throws: `.locked` naming the holder when a conflicting lock exists.
    /// - Parameter retryFor: keep trying this many seconds while another process holds a
    ///   conflicting lock (restic's `--retry-lock`), then fail naming the holder.
    /// - Parameter alsoListing: file types `body` lists first (e.g. index and snapshots);
    ///   a remote backend may list them with the lock check, in one request, once locked.
    public func withLock<T: Sendable>(exclusive: Bool, retryFor: Double = 0, alsoListing: Set<FileType> = [],
                                      _ body: @Sendable () async throws -> T) async throws -> T {
        try await withLock(exclusive: exclusive, retryFor: retryFor, alsoListing: alsoListing, prepare: {}) { () in try await body() }
    }

    /// `withLock` with a read-only first step: `prepare` runs while the lock waits out its
    /// pause (see `acquireLockOnce`), so reading the index or listing snapshots costs no
    /// extra time; it is cancelled and its result dropped if the lock is refused. It must
    /// only read: nothing may be written before the lock is confirmed.
    public func withLock<P: Sendable, T: Sendable>(exclusive: Bool, retryFor: Double = 0, alsoListing: Set<FileType> = [],
                                                   prepare: @escaping @Sendable () async throws -> P,
                                                   _ body: @Sendable (P) async throws -> T) async throws -> T {
        let acquired = try await acquireLock(exclusive: exclusive, retryFor: retryFor, alsoListing: alsoListing, prepare: prepare)
        let holder = LockHolder(id: acquired.id)
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await self.refresh(holder, exclusive: exclusive) }
                let value = try await body(acquired.prepared)
                group.cancelAll()
                return value
            }
            try? await backend.remove(FileHandle(.lock, holder.id))
            return result
        } catch {
            try? await backend.remove(FileHandle(.lock, holder.id))
            throw error
        }
    }

    /// A shared lock whose `body` starts at once instead of after the lock's pause: it may
    /// read from the start, while every write it makes waits on `gate` until the lock is
    /// confirmed. If the lock is refused, waiting writes throw, `body` is cancelled and the
    /// lock's error is thrown: nothing was written. (A backup that finds nothing changed is
    /// mostly reading; this saves it the 200 ms pause.)
    public func withLockStartingEarly<T: Sendable>(retryFor: Double = 0,
                                                   _ body: @escaping @Sendable (WriteGate) async throws -> T) async throws -> T {
        let gate = WriteGate()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body(gate) }
            let holder: LockHolder
            do {
                holder = LockHolder(id: try await acquireLock(exclusive: false, retryFor: retryFor, alsoListing: [], prepare: {}).id)
            } catch {
                gate.refuse(error)
                group.cancelAll()
                while (try? await group.next()) != nil {}
                throw error
            }
            gate.open()
            group.addTask { try await self.refresh(holder, exclusive: false) }
            do {
                // The refresh task never returns a value: the first one is body's.
                while let outcome = try await group.next() {
                    guard let value = outcome else { continue }
                    group.cancelAll()
                    try? await backend.remove(FileHandle(.lock, holder.id))
                    return value
                }
                throw CancellationError()
            } catch {
                group.cancelAll()
                try? await backend.remove(FileHandle(.lock, holder.id))
                throw error
            }
        }
    }

    /// Rewrites the lock every `lockRefreshInterval` until cancelled.
    private func refresh<T>(_ holder: LockHolder, exclusive: Bool) async throws -> T? {
        while true {
            try await Task.sleep(nanoseconds: Repository.lockRefreshInterval * 1_000_000_000)
            let old = holder.id
            let new = try await writeLock(exclusive: exclusive)
            holder.id = new
            try? await backend.remove(FileHandle(.lock, old))
        }
    }

    private func acquireLock<P: Sendable>(exclusive: Bool, retryFor: Double, alsoListing: Set<FileType>,
                                          prepare: @escaping @Sendable () async throws -> P) async throws -> (id: ID, prepared: P) {
        let deadline = Double(Timestamp.now().seconds) + retryFor
        var delay: UInt64 = 1_000_000_000
        while true {
            do {
                return try await acquireLockOnce(exclusive: exclusive, alsoListing: alsoListing, prepare: prepare)
            } catch let error as LifeboatError where error.code == .locked && Double(Timestamp.now().seconds) < deadline {
                try await Task.sleep(nanoseconds: delay)
                delay = min(delay * 2, 30_000_000_000)
            }
        }
    }

    private func acquireLockOnce<P: Sendable>(exclusive: Bool, alsoListing: Set<FileType>,
                                              prepare: @escaping @Sendable () async throws -> P) async throws -> (id: ID, prepared: P) {
        try await checkConflicts(exclusive: exclusive, ignoring: nil)
        let id = try await writeLock(exclusive: exclusive)
        // Two processes may have checked at the same moment: look again after a pause.
        // The pause is inside `do`: an interrupt during it must not leave the lock behind.
        // `prepare` reads meanwhile; leaving this scope early cancels it.
        do {
            async let prepared = prepare()
            try await Task.sleep(nanoseconds: 200_000_000)
            try await checkConflicts(exclusive: exclusive, ignoring: id, alsoListing: alsoListing)
            return (id, try await prepared)
        } catch {
            try? await backend.remove(FileHandle(.lock, id))
            throw error
        }
    }

    private func writeLock(exclusive: Bool) async throws -> ID {
        let info = LockInfo(time: .now(), exclusive: exclusive, hostname: currentHostname(), username: currentUsername(),
                            pid: getpid(), uid: getuid(), gid: getgid())
        return try await saveUnpacked(.lock, json: info.encoded())
    }

    private func checkConflicts(exclusive: Bool, ignoring own: ID?, alsoListing: Set<FileType> = []) async throws {
        // Our own lock is skipped unread: we know what we wrote.
        for lock in try await locks(except: own, alsoListing: alsoListing) {
            guard exclusive || lock.info.exclusive else { continue }
            let age = Timestamp.now().seconds - lock.info.time.seconds
            let what = lock.info.exclusive ? "an exclusive lock" : "a lock"
            throw LifeboatError(.locked,
                "the repository is already locked by \(what) held by \(lock.info.username)@\(lock.info.hostname) (PID \(lock.info.pid)), created \(formatAge(age)) ago",
                hint: isStale(lock.info) ? "the lock looks stale; remove it with `lifeboat unlock`" : "wait for that operation to finish")
        }
    }

    /// Every lock file that can be read (unreadable ones are ignored, as restic 0.14 does).
    public func locks(except skipped: ID? = nil, alsoListing: Set<FileType> = []) async throws -> [(id: ID, info: LockInfo)] {
        var out: [(id: ID, info: LockInfo)] = []
        for entry in try await backend.list(.lock, alsoListing: alsoListing) {
            guard let id = ID(hex: entry.name), id != skipped,
                  let json = try? await loadUnpacked(.lock, id: id),
                  let info = try? LockInfo(decoding: json) else { continue }
            out.append((id, info))
        }
        return out
    }

    public func isStale(_ info: LockInfo) -> Bool {
        if Timestamp.now().seconds - info.time.seconds > Self.lockStaleAfter { return true }
        if info.hostname == currentHostname() {
            // Signal 0 probes for existence without disturbing the process.
            return kill(info.pid, 0) != 0 && errno == ESRCH
        }
        return false
    }

    /// Removes stale locks (or all with `all`); returns how many were removed.
    public func removeLocks(all: Bool) async throws -> Int {
        var removed = 0
        for lock in try await locks() where all || isStale(lock.info) {
            try await backend.remove(FileHandle(.lock, lock.id))
            removed += 1
        }
        return removed
    }
}

private final class LockHolder: @unchecked Sendable {
    // Written by the refresh task, read after it is cancelled and awaited.
    var id: ID
    init(id: ID) { self.id = id }
}

func formatAge(_ seconds: Int64) -> String {
    if seconds < 120 { return "\(seconds)s" }
    if seconds < 7200 { return "\(seconds / 60)m" }
    return "\(seconds / 3600)h\(seconds % 3600 / 60)m"
}
