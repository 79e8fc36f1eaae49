#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
@testable import LifeboatRepository

/// `withLockStartingEarly`: the backup reads while the lock settles, but writes nothing
/// until the lock is confirmed, and nothing at all if it is refused.
@Suite struct EarlyLockTests {
    static func setUp() async throws -> (TemporaryDirectory, Repository, RawPath) {
        let temp = try TemporaryDirectory()
        let repository = try await Repository.initialize(backend: LocalBackend(path: temp.child("repo").display),
                                                         password: Array("pw".utf8))
        let source = temp.child("src")
        try check("mkdir", source) { mkdir($0, 0o755) }
        for i in 0..<20 { try writeFile(source.appending(component: Array("f\(i)".utf8)), Array(repeating: UInt8(i), count: 3000 + i)) }
        return (temp, repository, source)
    }

    static func backup(_ repository: Repository, _ source: RawPath, gate: WriteGate) async throws -> BackupSummary {
        var options = BackupOptions(paths: [source.display])
        options.workers = 2
        return try await Archiver(repository: repository).backup(options, index: try await repository.loadIndex(), writeGate: gate)
    }

    static func files(_ repository: Repository, _ type: FileType) async throws -> Int {
        try await repository.backend.list(type).count
    }

    @Test func refusedLockLeavesNothingWritten() async throws {
        let (temp, plain, source) = try await Self.setUp()
        _ = temp
        // Another process takes an exclusive lock just after ours is written, while ours
        // waits out its pause: the second look must refuse ours. The intruder writes from
        // inside our lock's save, so the timing does not depend on how busy the machine is.
        let info = LockInfo(time: .now(), exclusive: true, hostname: "elsewhere", username: "other", pid: 4242)
        let backend = IntrudingBackend(inner: plain.backend) { _ = try await plain.saveUnpacked(.lock, json: info.encoded()) }
        let repository = try await Repository.open(backend: backend, password: Array("pw".utf8))
        let started = Locked(false)
        do {
            _ = try await repository.withLockStartingEarly { gate in
                started.withLock { $0 = true }
                return try await Self.backup(repository, source, gate: gate)
            }
            Issue.record("the backup must be refused")
        } catch let error as LifeboatError {
            #expect(error.code == .locked, "\(error)")
            #expect(error.message.contains("other@elsewhere"), "\(error)")
        }
        #expect(started.withLock { $0 }, "the body starts before the lock is confirmed")
        #expect(try await Self.files(plain, .pack) == 0)
        #expect(try await Self.files(plain, .index) == 0)
        #expect(try await Self.files(plain, .snapshot) == 0)
        #expect(try await Self.files(plain, .lock) == 1, "only the intruder's lock is left")
    }

    @Test func confirmedLockLetsTheWritesThrough() async throws {
        let (temp, repository, source) = try await Self.setUp()
        _ = temp
        let summary = try await repository.withLockStartingEarly { gate in
            try await Self.backup(repository, source, gate: gate)
        }
        #expect(summary.totalFiles == 20)
        #expect(try await Self.files(repository, .snapshot) == 1)
        #expect(try await Self.files(repository, .index) == 1)
        #expect(try await Self.files(repository, .lock) == 0, "the lock is removed afterwards")
    }

    @Test func gateReleasesWaitersInBothOutcomes() async throws {
        let opened = WriteGate()
        let waiter = Task { try await opened.wait() }
        try await Task.sleep(nanoseconds: 10_000_000)
        opened.open()
        try await waiter.value
        try await opened.wait()

        let refused = WriteGate()
        let refusedWaiter = Task { try await refused.wait() }
        refused.refuse(LifeboatError(.locked, "no"))
        await #expect(throws: LifeboatError.self) { try await refusedWaiter.value }
        await #expect(throws: LifeboatError.self) { try await refused.wait() }
        try await WriteGate.alwaysOpen.wait()
    }
}

/// Forwards to `inner`; right after the first lock file is saved, runs `intrude` once.
private struct IntrudingBackend: Backend {
    let inner: any Backend
    let intrude: @Sendable () async throws -> Void
    private let intruded = Locked(false)

    init(inner: any Backend, intrude: @escaping @Sendable () async throws -> Void) {
        self.inner = inner
        self.intrude = intrude
    }

    var location: String { inner.location }
    var connections: Int { inner.connections }
    var spoolDirectory: String { inner.spoolDirectory }
    func create() async throws { try await inner.create() }
    func save(_ handle: FileHandle, data: [UInt8]) async throws {
        try await inner.save(handle, data: data)
        guard handle.type == .lock, !intruded.withLock({ let was = $0; $0 = true; return was }) else { return }
        try await intrude()
    }
    func save(_ handle: FileHandle, spooled: SpooledFile) async throws { try await inner.save(handle, spooled: spooled) }
    func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await inner.load(handle, offset: offset, length: length)
    }
    func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8] {
        try inner.loadBlocking(handle, offset: offset, length: length)
    }
    func loadBlocking(_ handle: FileHandle, into buffer: inout [UInt8]) throws -> Int {
        try inner.loadBlocking(handle, into: &buffer)
    }
    func size(_ handle: FileHandle) async throws -> Int { try await inner.size(handle) }
    func list(_ type: FileType) async throws -> [(name: String, size: Int)] { try await inner.list(type) }
    func remove(_ handle: FileHandle) async throws { try await inner.remove(handle) }
}
