import LifeboatCore
import LifeboatRepository

/// Decodes the parent snapshot's trees on a thread of its own for the metadata prefetcher,
/// in the prefetcher's depth-first order: requests go on a stack, a directory's children
/// pushed last-first, so the helper works on what the prefetcher needs next. A tree the
/// helper has not started when it is needed is loaded by the caller instead, so nothing
/// ever waits on a queue. The helper stays at most `readyLimit` decoded trees ahead, so
/// memory does not grow with the parent snapshot.
final class ParentTreeLoader: @unchecked Sendable {
    final class Ticket {
        let id: ID
        fileprivate var state = State.queued
        init(id: ID) { self.id = id }
    }

    fileprivate enum State {
        case queued, running
        case done(Tree?)
    }

    static let readyLimit = 64

    // `stack`, `ready`, `closed` and every ticket's state are guarded by `condition`.
    private let condition = Condition()
    private var stack: [Ticket] = []
    /// Trees the helper decoded that were not taken yet.
    private var ready = 0
    private var closed = false
    // Wake-ups only go to a thread that sleeps: each costs a thread switch.
    private var helperSleeps = false
    private var takersWaiting = 0
    private let load: (ID) -> Tree?
    private var thread: PipelineThread?

    init(load: @escaping (ID) -> Tree?) {
        self.load = load
        thread = PipelineThread { [self] in run() }
    }

    /// Queues the trees of a directory's children, to be taken in this order.
    func request(_ ids: [ID]) -> [Ticket] {
        let tickets = ids.map(Ticket.init)
        guard !tickets.isEmpty else { return [] }
        condition.withLock {
            stack.append(contentsOf: tickets.reversed())
            if helperSleeps { condition.broadcast() }
        }
        return tickets
    }

    /// The ticket's tree (nil if it cannot be read): ready, or waited for while the helper
    /// loads it, or loaded here if the helper has not started it.
    func take(_ ticket: Ticket) -> Tree? {
        condition.lock()
        while true {
            switch ticket.state {
            case .done(let tree):
                // Only the helper's trees are found done here: ours return below.
                ready -= 1
                if helperSleeps && ready == Self.readyLimit - 1 { condition.broadcast() }
                condition.unlock()
                return tree
            case .running:
                takersWaiting += 1
                condition.wait()
                takersWaiting -= 1
            case .queued:
                ticket.state = .running
                condition.unlock()
                let tree = load(ticket.id)
                condition.withLock { ticket.state = .done(tree) }
                return tree
            }
        }
    }

    /// Ends the helper thread; tickets still queued are loaded by `take` if ever taken.
    func stop() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
        thread?.join()
        thread = nil
    }

    private func run() {
        while true {
            condition.lock()
            while (stack.isEmpty || ready >= Self.readyLimit) && !closed {
                helperSleeps = true
                condition.wait()
                helperSleeps = false
            }
            if closed {
                condition.unlock()
                return
            }
            let ticket = stack.removeLast()
            guard case .queued = ticket.state else {  // the caller took it first
                condition.unlock()
                continue
            }
            ticket.state = .running
            condition.unlock()
            let tree = load(ticket.id)
            condition.withLock {
                ticket.state = .done(tree)
                ready += 1
                if takersWaiting > 0 { condition.broadcast() }
            }
        }
    }
}
