import LifeboatCore
import LifeboatRepository

/// Lists directories, stats their entries, reads their metadata (xattrs, link targets,
/// owner names) and takes the parent snapshot's matching trees (decoded by a
/// `ParentTreeLoader` on a second thread) on a thread of its own, ahead of the walker and in
/// exactly the order the walker visits directories.
///
/// That moves the per-file syscalls and the tree decoding off the walker, which is left
/// with comparing, reading changed files and building nodes: no-change and small-file
/// backups then use both cores.
///
/// Order: pre-order depth first, entries by raw name. A directory's children are listed
/// after it, in entry order, and only the directories the walker will descend into: not
/// excluded, stat'ed and read without error, and on the root's device with
/// `--one-file-system`.
final class MetadataPrefetcher: @unchecked Sendable {
    struct Entry {
        var name: [UInt8]
        var components: [[UInt8]]
        /// The stat result, or the message of why it failed.
        var status: Result<FileStatus, LifeboatError>
    }

    struct Listing {
        var path: RawPath
        /// The parent snapshot's tree of this directory, if it had one.
        var parentTree: Tree?
        var entries: [Entry] = []
        /// One node per entry, in entry order. The walker adopts this array as the
        /// directory's own and overwrites it in place (`DirectoryBuild.adopt`): a large
        /// directory's nodes are then held once, not once here and once more there.
        /// Entries without a node (stat failed, sockets, or in `nodeErrors`) hold a placeholder.
        var nodes: [Node] = []
        /// Why the metadata of an entry could not be read, by entry index.
        var nodeErrors: [Int: LifeboatError] = [:]
        /// Set if the directory could not be listed.
        var error: String?

        func path(of entry: Entry) -> RawPath { path.appending(component: entry.name) }
    }

    /// Stands in `Listing.nodes` for an entry without a node.
    static let placeholder = Node(name: [], type: .irregular)

    // A few thousand entries ahead are enough to keep the walker busy; more only costs memory.
    private let queue = BoundedQueue<Listing>(maxItems: 32, maxBytes: 1 << 20, batch: 8) { $0.entries.count * 300 }
    private var thread: PipelineThread?
    private let nodeReader = NodeReader()
    private let excludes: [GlobPattern]
    private let rootDevice: UInt64?
    /// Decodes the parent's subtrees on another thread, ahead of `visit`.
    private let parentTrees: ParentTreeLoader

    /// Starts listing at `root`, whose parent-snapshot tree is `parentTree`.
    init(root: RawPath, components: [[UInt8]], parentTree: Tree?, excludes: [GlobPattern],
         oneFileSystemDevice: UInt64?, loadTree: @escaping (ID) -> Tree?) {
        self.excludes = excludes
        self.rootDevice = oneFileSystemDevice
        parentTrees = ParentTreeLoader(load: loadTree)
        thread = PipelineThread { [self] in
            _ = visit(root, components: components, parentTree: { parentTree })
            queue.close()
            parentTrees.stop()
        }
    }

    /// The next directory in walk order; blocks until it is ready.
    func next() -> Listing? { queue.pop() }

    /// Stops early (the walker failed) and waits for the thread.
    func stop() {
        queue.close()
        thread?.join()
        thread = nil
    }

    /// - Parameter parentTree: takes the parent snapshot's tree of `path`; called once, after
    ///   the entries are stat'ed, so that the loader decodes it meanwhile.
    /// - Returns: false once the walker stopped listening.
    private func visit(_ path: RawPath, components: [[UInt8]], parentTree: () -> Tree?) -> Bool {
        var listing = Listing(path: path)
        let directory: Directory.Open
        do { directory = try Directory.open(path) } catch {
            _ = parentTree()  // taken all the same: the loader counts what it has ready
            listing.error = "cannot list \(path.display): \((error as? LifeboatError)?.message ?? "\(error)")"
            return queue.push(listing)
        }
        listing.entries.reserveCapacity(directory.names.count)
        for name in directory.names {
            var childComponents: [[UInt8]] = []
            if !excludes.isEmpty {
                childComponents = components + [name]
                if excludes.contains(where: { $0.matches(childComponents) }) { continue }
            }
            var entry = Entry(name: name, components: childComponents, status: .failure(Self.noStatus))
            do {
                let status = try FileStatus.lstat(name, in: directory.fd, path: path.appending(component: name))
                entry.status = .success(status)
                // Only directories are walked further, so only they need their components.
                if status.mode & 0o170000 == 0o040000 && excludes.isEmpty { entry.components = components + [name] }
            } catch {
                entry.status = .failure(Self.lifeboatError(error))
            }
            listing.entries.append(entry)
        }
        directory.close()  // before descending: one descriptor open at a time

        let previousTree = parentTree()
        listing.parentTree = previousTree
        listing.nodes.reserveCapacity(listing.entries.count)
        var descend: [(index: Int, subtree: ID?)] = []
        for index in listing.entries.indices {
            guard case .success(let status) = listing.entries[index].status,
                  status.mode & 0o170000 != 0o140000 else {  // sockets are skipped by the walker
                listing.nodes.append(Self.placeholder)
                continue
            }
            let name = listing.entries[index].name
            do {
                let previous = previousTree?.node(named: name)
                let node = try nodeReader.node(name: name, path: listing.path(of: listing.entries[index]), status: status,
                                               previous: previous)
                if node.type == .dir && (rootDevice == nil || status.device == rootDevice) {
                    descend.append((index, previous?.type == .dir ? previous?.subtree : nil))
                }
                listing.nodes.append(node)
            } catch {
                listing.nodes.append(Self.placeholder)
                listing.nodeErrors[index] = Self.lifeboatError(error)
            }
        }
        let entries = listing.entries
        guard hand(&listing) else { return false }
        let tickets = parentTrees.request(descend.compactMap(\.subtree))
        var nextTicket = 0
        for (index, subtree) in descend {
            let entry = entries[index]
            var ticket: ParentTreeLoader.Ticket?
            if subtree != nil {
                ticket = tickets[nextTicket]
                nextTicket += 1
            }
            guard visit(path.appending(component: entry.name), components: entry.components, parentTree: { ticket.flatMap(parentTrees.take) }) else {
                return false
            }
        }
        return true
    }

    /// Queues `listing`, leaving an empty one behind: no reference to its node array stays
    /// here, so the walker can overwrite it in place without copying it.
    private func hand(_ listing: inout Listing) -> Bool {
        var handed = Listing(path: listing.path)
        swap(&handed, &listing)
        return queue.push(handed)
    }

    private static let noStatus = LifeboatError(.internalError, "not stat'ed")

    private static func lifeboatError(_ error: any Error) -> LifeboatError {
        error as? LifeboatError ?? LifeboatError(.io, "\(error)")
    }
}
