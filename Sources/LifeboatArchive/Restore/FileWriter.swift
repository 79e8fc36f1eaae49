import LifeboatCore
import LifeboatRepository

/// Opens restored files on first write, and finishes each (size, metadata) once its last
/// chunk has been written. Shared by the read tasks.
final class FileWriter: @unchecked Sendable {
    private let plan: RestorePlan
    private let target: RestoreTarget
    private let owner: Bool
    private let progress: RestoreProgress?
    /// Files this large or larger are written with `O_DIRECT` where the file system allows.
    private let directMinimumSize: UInt64?
    private let state: Locked<State>

    private struct State {
        var open: [Int: RestoreFile] = [:]
        var remaining: [Int: Int] = [:]
        var opening: [Int: Condition] = [:]
        var warnings: [String] = []
    }

    init(plan: RestorePlan, target: RestoreTarget, owner: Bool, progress: RestoreProgress?, directMinimumSize: UInt64?) {
        self.plan = plan
        self.target = target
        self.owner = owner
        self.progress = progress
        self.directMinimumSize = directMinimumSize
        var remaining: [Int: Int] = [:]
        for (i, entry) in plan.items.enumerated() where entry.node.type == .file && !entry.isHardLink {
            remaining[i] = entry.node.content?.count ?? 0
        }
        state = Locked(State(remaining: remaining))
    }

    var warnings: [String] { state.withLock { $0.warnings } }

    func writeEmptyFiles() async throws {
        let empties = plan.items.indices.filter { plan.items[$0].node.type == .file && !plan.items[$0].isHardLink && (plan.items[$0].node.content ?? []).isEmpty }
        for i in empties {
            let entry = plan.items[i]
            let file = try target.openFile(plan.components(i), size: 0)
            try finished(i, warnings: file.finish(size: entry.node.size ?? 0, metadata: entry.node, owner: owner))
        }
    }

    /// Writes part of a chunk; `chunkDone` counts the chunk once all of it is written.
    func writePart(_ bytes: UnsafeRawBufferPointer, file index: Int, offset: UInt64, bounce: RestoreFile.Bounce?) throws {
        try handle(for: index).write(bytes, at: offset, bounce: bounce)
    }

    /// Counts a chunk of `count` zeros as written: nothing is, since a restored file reads
    /// as zeros wherever nothing was written (it is empty when opened, and sized at the end).
    func fillZeros(count: Int, file index: Int) throws {
        _ = try handle(for: index)  // a file of nothing but zeros must still be created
        try chunkDone(index, bytes: count)
    }

    /// Counts one chunk of `bytes` bytes as written into file `index`; the file is finished
    /// (size, metadata) after its last chunk.
    func chunkDone(_ index: Int, bytes: Int) throws {
        progress?.update { $0.bytesDone += UInt64(bytes) }
        let done = state.withLock { s -> RestoreFile? in
            s.remaining[index]! -= 1
            guard s.remaining[index]! == 0 else { return nil }
            return s.open.removeValue(forKey: index)
        }
        if let done {
            let node = plan.items[index].node
            try finished(index, warnings: done.finish(size: node.size ?? 0, metadata: node, owner: owner))
        }
    }

    private func finished(_ index: Int, warnings: [String]) {
        if !warnings.isEmpty { state.withLock { $0.warnings += warnings } }
        progress?.update { $0.filesDone += 1 }
    }

    /// The open file, opening it exactly once even when several packs race to it.
    private func handle(for index: Int) throws -> RestoreFile {
        while true {
            enum Step { case ready(RestoreFile), wait(Condition), open(Condition) }
            let step = state.withLock { s -> Step in
                if let f = s.open[index] { return .ready(f) }
                if let c = s.opening[index] { return .wait(c) }
                let c = Condition()
                s.opening[index] = c
                return .open(c)
            }
            switch step {
            case .ready(let f):
                return f
            case .wait(let c):
                c.withLock {
                    while state.withLock({ $0.opening[index] != nil }) { c.wait() }
                }
            case .open(let c):
                let entry = plan.items[index]
                do {
                    let size = entry.node.size ?? 0
                    let f = try target.openFile(plan.components(index), size: size,
                                                direct: directMinimumSize.map { size >= $0 } ?? false)
                    c.withLock { state.withLock { s in s.open[index] = f; s.opening[index] = nil }; c.broadcast() }
                    return f
                } catch {
                    c.withLock { state.withLock { s in _ = s.opening.removeValue(forKey: index) }; c.broadcast() }
                    throw error
                }
            }
        }
    }
}
