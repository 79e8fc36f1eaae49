#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LifeboatArchive
import LifeboatCore
import LifeboatRepository

/// The parent-tree helper thread: right trees in the right order, loads inline what it
/// has not started, and never runs more than `readyLimit` trees ahead.
@Suite struct ParentTreeLoaderTests {
    /// A tree whose single node is named after the tree's number, so a mix-up shows.
    static func tree(_ number: Int) -> Tree {
        Tree(nodes: [Node(name: Array("n\(number)".utf8), type: .file)])
    }

    @Test func takesEveryTreeInOrderAndStaysBounded() throws {
        let ids = (0..<300).map { SHA256.hash(Array("tree \($0)".utf8)) }
        let numbers = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        let loads = Locked(0)
        let loader = ParentTreeLoader { id in
            loads.withLock { $0 += 1 }
            return Self.tree(numbers[id]!)
        }
        defer { loader.stop() }
        let tickets = loader.request(ids)
        // Left alone, the helper fills its allowance and then waits.
        var waited = 0
        while loads.withLock({ $0 }) < ParentTreeLoader.readyLimit && waited < 5_000 {
            usleep(1_000)
            waited += 1
        }
        usleep(50_000)
        #expect(loads.withLock { $0 } == ParentTreeLoader.readyLimit)
        for (number, ticket) in tickets.enumerated() {
            #expect(loader.take(ticket)?.nodes.first?.name == Array("n\(number)".utf8))
        }
        #expect(loads.withLock { $0 } == ids.count, "each tree is decoded once")
    }

    @Test func unreadableTreeIsNilAndStoppedLoaderStillServes() throws {
        let good = SHA256.hash(Array("good".utf8))
        let bad = SHA256.hash(Array("bad".utf8))
        let loader = ParentTreeLoader { $0 == good ? Self.tree(1) : nil }
        loader.stop()
        let tickets = loader.request([bad, good])
        #expect(loader.take(tickets[0]) == nil)
        #expect(loader.take(tickets[1])?.nodes.count == 1)
    }
}
