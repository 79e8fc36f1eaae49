public import LifeboatCore
public import LifeboatRepository

/// Selects nodes of a snapshot tree by path, for restore, ls and dump.
public struct PathFilter: Sendable {
    public var includes: [GlobPattern]
    public var excludes: [GlobPattern]

    public init(includes: [GlobPattern] = [], excludes: [GlobPattern] = []) {
        self.includes = includes
        self.excludes = excludes
    }

    public func isExcluded(_ path: [[UInt8]]) -> Bool { excludes.contains { $0.matches(path) } }

    /// Whether the item itself is selected (an included directory selects everything below).
    public func isIncluded(_ path: [[UInt8]], parentIncluded: Bool) -> Bool {
        parentIncluded || includes.isEmpty || includes.contains { $0.matches(path) }
    }

    public func mayIncludeBelow(_ path: [[UInt8]]) -> Bool {
        includes.isEmpty || includes.contains { $0.mayMatchBelow(path) }
    }
}

/// What a restore will create, in tree order, one batch at a time.
///
/// Directories are kept for the whole restore (their metadata is applied last); all other
/// items are handed to the restore in batches and then dropped, so memory stays flat however
/// many files a snapshot holds. A path is its directory's index plus the node's name.
struct RestorePlan: Sendable {
    struct Entry: Sendable {
        /// Index in `directories` of the directory holding this entry; -1 for the top level.
        var parent: Int32
        var node: Node
        /// For a hard link: the path of the entry it links to (restored earlier).
        var linkTo: [[UInt8]]?

        var isHardLink: Bool { linkTo != nil }
    }

    var directories: [Entry] = []
    /// Items of the current batch: files, symlinks, devices, FIFOs.
    var items: [Entry] = []
    let index: MasterIndex

    /// The path of directory `d` relative to the restore target.
    func directoryComponents(_ d: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current = d
        while current >= 0 {
            out.append(directories[current].node.name)
            current = Int(directories[current].parent)
        }
        return out.reversed()
    }

    /// The path of item `i` of the current batch relative to the restore target.
    func components(_ i: Int) -> [[UInt8]] {
        directoryComponents(Int(items[i].parent)) + [items[i].node.name]
    }

    /// Where each data blob of file item `i` goes (checked to exist when planning).
    func chunks(_ i: Int) -> [(id: ID, offset: UInt64, length: Int)] {
        var out: [(id: ID, offset: UInt64, length: Int)] = []
        var offset: UInt64 = 0
        for id in items[i].node.content ?? [] {
            let length = index.lookup(id, type: .data)?.plaintextLength ?? 0
            out.append((id, offset, length))
            offset += UInt64(length)
        }
        return out
    }
}

/// Walks a snapshot's tree and hands the selected items over in batches.
struct RestorePlanner {
    let repository: Repository
    let index: MasterIndex
    let filter: PathFilter
    /// Items per batch: a few MiB of plan, while each pack is still read about once.
    var batchSize: Int

    typealias Flush = (inout RestorePlan) async throws -> Void

    /// - Parameters:
    ///   - snapshotPrefix: the path of `tree` inside the snapshot (for `SNAPSHOT:subpath`), so
    ///     patterns match full snapshot paths.
    ///   - flush: restores `plan.items`; called whenever a batch is full and once at the end.
    /// - Returns: the plan with every selected directory.
    func run(tree: ID, snapshotPrefix: [[UInt8]], flush: Flush) async throws -> RestorePlan {
        var plan = RestorePlan(index: index)
        var hardLinks: [HardLinkKey: [[UInt8]]] = [:]
        try await walk(tree, prefix: snapshotPrefix, parent: -1, parentIncluded: false, into: &plan, hardLinks: &hardLinks,
                       flush: flush)
        try await flush(&plan)
        plan.items = []
        return plan
    }

    private struct HardLinkKey: Hashable { var inode: UInt64; var device: UInt64 }

    /// - Returns: whether anything below was selected.
    @discardableResult
    private func walk(_ treeID: ID, prefix: [[UInt8]], parent: Int32, parentIncluded: Bool,
                      into plan: inout RestorePlan, hardLinks: inout [HardLinkKey: [[UInt8]]], flush: Flush) async throws -> Bool {
        try Task.checkCancellation()
        let tree = try await repository.loadTree(treeID, index: index)
        var selectedAny = false
        for node in tree.nodes {
            try validateName(node.name)
            let path = prefix + [node.name]
            if filter.isExcluded(path) { continue }
            let included = filter.isIncluded(path, parentIncluded: parentIncluded)
            if node.type == .dir {
                guard let subtree = node.subtree else {
                    throw LifeboatError(.corrupt, "directory \(display(path)) has no subtree")
                }
                guard included || filter.mayIncludeBelow(path) else { continue }
                let position = plan.directories.count
                plan.directories.append(RestorePlan.Entry(parent: parent, node: node))
                let below = try await walk(subtree, prefix: path, parent: Int32(position), parentIncluded: included,
                                           into: &plan, hardLinks: &hardLinks, flush: flush)
                if !included && !below {
                    plan.directories.removeLast()  // nothing below was selected: nothing was added after it
                    continue
                }
                selectedAny = true
                continue
            }
            guard included else { continue }
            if node.type == .socket { continue }
            selectedAny = true
            var entry = RestorePlan.Entry(parent: parent, node: node)
            if node.type == .file {
                if let links = node.links, links > 1, let inode = node.inode, inode != 0 {
                    let key = HardLinkKey(inode: inode, device: node.deviceID ?? 0)
                    if let first = hardLinks[key] {
                        entry.linkTo = first
                        plan.items.append(entry)
                        continue
                    }
                    hardLinks[key] = (parent >= 0 ? plan.directoryComponents(Int(parent)) : []) + [node.name]
                }
                guard let content = node.content else {
                    throw LifeboatError(.corrupt, "file \(display(path)) has no content list")
                }
                for id in content where !index.contains(id, type: .data) {
                    throw LifeboatError(.corrupt, "data blob \(id.short) of \(display(path)) is missing from the index",
                                        hint: "run `lifeboat check` to see what else is affected")
                }
            }
            plan.items.append(entry)
            if plan.items.count >= batchSize {
                try await flush(&plan)
                plan.items.removeAll(keepingCapacity: true)
            }
        }
        return selectedAny
    }

    /// Names come from the repository, which may be hostile: no separators, no `.`/`..`.
    private func validateName(_ name: [UInt8]) throws { try validateNodeName(name, by: "restore") }
}

/// Rejects a node name that could escape the directory it is written into: empty, `.`,
/// `..`, or containing `/` or NUL. Restore and dump both check every name they use.
func validateNodeName(_ name: [UInt8], by command: String) throws {
    if name.isEmpty || name == [0x2e] || name == [0x2e, 0x2e] || name.contains(0x2f) || name.contains(0) {
        throw LifeboatError(.corrupt, "the snapshot contains an unsafe file name \"\(String(decoding: name, as: UTF8.self))\"",
                            hint: "\(command) refuses names that could escape the target; the repository may be tampered with")
    }
}

/// The exact path of `components` below `root`, byte for byte (names need not be UTF-8;
/// `display` is for messages only).
func rawPath(root: String, _ components: [[UInt8]]) -> RawPath {
    components.reduce(RawPath(root)) { $0.appending(component: $1) }
}

/// A snapshot path for messages (`/a/b`; invalid UTF-8 shown as U+FFFD).
public func display(_ components: [[UInt8]]) -> String {
    "/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
}
