import LifeboatCore
import LifeboatRepository

/// Re-reads restored files and checks every chunk's SHA-256 against the snapshot.
struct Verifier {
    let targetRoot: String

    func verify(_ plan: RestorePlan) async throws -> Int {
        let files = plan.items.indices.filter { plan.items[$0].node.type == .file }
        let root = targetRoot
        return try await blockingIO {
            var count = 0
            for i in files {
                let entry = plan.items[i]
                let path = rawPath(root: root, plan.components(i))
                let reader = try FileReader(path: path)
                defer { reader.close() }
                // A hard link has the same content list as the file it links to.
                let chunks = plan.chunks(i)
                for chunk in chunks {
                    var buffer = [UInt8](repeating: 0, count: chunk.length)
                    let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                    guard n == chunk.length, SHA256.hash(buffer) == chunk.id else {
                        throw LifeboatError(.corrupt, "verification failed: \(path.display) differs from the snapshot at offset \(chunk.offset)")
                    }
                }
                var extra = [UInt8](repeating: 0, count: 1)
                guard try extra.withUnsafeMutableBytes({ try reader.read(into: $0) }) == 0 else {
                    throw LifeboatError(.corrupt, "verification failed: \(path.display) is longer than in the snapshot")
                }
                count += 1
            }
            return count
        }
    }
}
