import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// The thread side of one backup run: walker (the calling thread), workers, assembler.
final class BackupWalk: @unchecked Sendable {
    let repository: Repository
    let saver: BlobSaver
    let options: BackupOptions
    let progress: BackupProgress?

    let jobs: BoundedQueue<ChunkJob>
    let buffers: BufferPool
    private let directories = BoundedQueue<DirectoryBuild>(maxItems: 512, batch: 32)
    let completion = Completion()
    let failure = PipelineFailure()
    /// What the workers read chunks of zeros from (see `chunk(from:)`).
    private let zeroPages: ZeroPages
    /// Small enough that the bytes read past a cut, which move to the next buffer, stay few
    /// (with 1 MiB reads and ~1 MiB chunks they were half of all data).
    private let readSize = 256 << 10

    // Walker-thread state.
    private let nodeReader = NodeReader()
    var chunker: Chunker
    private var sequence = 0
    /// Small files read into one shared buffer, not yet queued (see `BackupWalk+SmallFiles`).
    var batch: (buffer: ChunkBuffer, parts: [ChunkPart])?
    private var hardLinks: [HardLinkKey: FileContent] = [:]
    private var rootDevice: UInt64?
    private var prefetch: MetadataPrefetcher?
    private var summary: BackupSummary
    private let summaryLock = Locked(DirectoryCounts())

    struct HardLinkKey: Hashable { var device: UInt64; var inode: UInt64 }
    struct DirectoryCounts { var new = 0, changed = 0, unmodified = 0 }

    init(repository: Repository, saver: BlobSaver, options: BackupOptions, progress: BackupProgress?) {
        self.repository = repository
        self.saver = saver
        self.options = options
        self.progress = progress
        // At least one buffer per worker and one being filled, and one more queued while
        // they are small. The budget is what the minimum needs for ~1 MiB chunks plus slack.
        // Against the earlier 6 MiB per buffer and twice the minimum, this took 9 MiB off a
        // d2 backup's peak (62 → 53 MiB) and 5 MiB off d1's at the same speed, now that
        // runs of zeros no longer fill buffers.
        let workers = max(1, options.workers)
        buffers = BufferPool(minimum: workers + 1, maximum: workers + 2, byteBudget: (workers + 1) * (4 << 20))
        jobs = BoundedQueue(maxItems: buffers.maximum)
        chunker = Chunker(gear: repository.gear)
        zeroPages = ZeroPages(count: chunker.parameters.maxSize)
        summary = BackupSummary(snapshot: Snapshot(time: .epoch, tree: .zero, paths: []))
    }

    /// Runs the whole pipeline on the calling thread plus helpers; returns the summary with
    /// the root tree ID in `snapshot.tree`.
    func run(parentTree: ID?) throws -> BackupSummary {
        let workers = (0..<max(1, options.workers)).map { _ in PipelineThread { [self] in work() } }
        let assembler = PipelineThread { [self] in assemble() }

        let root = DirectoryBuild()
        do {
            let parent = parentTree.flatMap { loadTree($0) }
            root.parentTreeID = parentTree
            if let name = options.stdinFilename {
                try backupStandardInput(name: name, into: root)
            } else {
                try walkTargets(into: root, parent: parent)
            }
        } catch {
            failure.set(error)
        }
        if !failure.isSet { pushDirectory(root) }
        jobs.close()
        for w in workers { w.join() }
        if failure.isSet { completion.fail() }
        buffers.close()
        directories.close()
        assembler.join()
        if let error = failure.error { throw error }
        try saver.flush(cipher: Cipher(key: repository.masterKey))
        saver.finishInput()

        let counts = summaryLock.withLock { $0 }
        summary.dirsNew = counts.new
        summary.dirsChanged = counts.changed
        summary.dirsUnmodified = counts.unmodified
        summary.snapshot.tree = root.treeID!
        return summary
    }

    /// Stops the run from any thread: the walker and the workers see the failure at their
    /// next step, and open packs are discarded so nothing waits for an upload slot.
    func cancel() {
        if failure.set(LifeboatError(.interrupted, "the backup was interrupted; nothing was saved as a snapshot")) {
            completion.fail()
        }
        saver.abandon()
    }

    // MARK: - Workers and assembler

    private func work() {
        let writer = BlobWriter(saver: saver, compression: options.compression)
        defer { finish(writer) }
        var zeroChunks = ZeroChunkIDs()
        while var job = jobs.pop() {
            defer {
                // Hand the buffer back uniquely referenced, or the walker's next write copies it.
                if !job.zeros {
                    let buffer = job.buffer
                    job.buffer = ChunkBuffer()
                    buffers.give(consume buffer)
                }
            }
            if failure.isSet { continue }  // drain so the walker never blocks forever
            do {
                if job.zeros {
                    let part = job.parts[0]
                    let chunk = zeroPages.bytes(part.length)
                    let id = zeroChunks.id(ofZeros: chunk)
                    try writer.save(.data, id: id, plaintext: chunk)
                    completion.complete(job.parts, ids: [id])
                    continue
                }
                try job.buffer.withUnsafeBytes { raw in
                    var ids: [ID] = []
                    ids.reserveCapacity(job.parts.count)
                    for part in job.parts {
                        let chunk = UnsafeRawBufferPointer(rebasing: raw[part.start..<part.start + part.length])
                        let id = zeroChunks.id(of: chunk)
                        try writer.save(.data, id: id, plaintext: chunk)
                        ids.append(id)
                    }
                    completion.complete(job.parts, ids: ids)
                }
            } catch {
                if failure.set(error) {
                    completion.fail()
                    buffers.close()
                }
            }
        }
    }

    /// Closes a thread's open packs; after a failure they are dropped with the writer.
    private func finish(_ writer: BlobWriter) {
        guard !failure.isSet else { return }
        do { try writer.flush() } catch {
            if failure.set(error) { completion.fail() }
        }
    }

    private func assemble() {
        let writer = BlobWriter(saver: saver, compression: options.compression)
        defer { finish(writer) }
        while let directory = directories.pop() {
            if failure.isSet { continue }
            guard completion.wait(through: directory.lastSequence) else { continue }
            for (i, content) in directory.files { directory.setContent(completion.ids(of: content), at: i) }
            for (i, child) in directory.children { directory.setSubtree(child.treeID!, at: i) }
            let id: ID
            if let parentID = directory.parentTreeID, let parentNodes = directory.parentNodes, parentNodes == directory.nodes {
                // Nothing changed: the parent's tree blob serves as it is, not encoded again.
                id = parentID
            } else {
                let bytes = Tree(nodes: directory.nodes).encoded()
                id = SHA256.hash(bytes)
                do {
                    try bytes.withUnsafeBytes { try writer.save(.tree, id: id, plaintext: $0) }
                } catch {
                    if failure.set(error) { completion.fail() }
                    continue
                }
            }
            directory.treeID = id
            summaryLock.withLock { c in
                if directory.parentTreeID == nil { c.new += 1 } else if directory.parentTreeID == id { c.unmodified += 1 } else { c.changed += 1 }
            }
            // Only the ID is needed from now on.
            directory.release()
        }
    }

    // MARK: - Walking

    /// Builds the root from the targets: `/a/b` becomes directory `a` holding `b`, with the
    /// real metadata of `/a`; `.` or `/` puts the directory's entries at the root.
    private func walkTargets(into root: DirectoryBuild, parent: Tree?) throws {
        var trie = TargetTrie()
        for path in options.paths {
            let components = pathComponents(Array(path.utf8)).filter { $0 != Array("..".utf8) }
            let clean = path.split(separator: "/").contains("..") ? pathComponents(Array(absolutePath(path).utf8)) : components
            trie.insert(clean, source: RawPath(path))
        }
        if let whole = trie.wholeTarget {
            guard trie.children.isEmpty else {
                throw LifeboatError(.invalidArgument, "\(whole.display) cannot be backed up together with other paths",
                                    hint: "give paths below it instead, or back it up alone")
            }
            let status = try FileStatus.lstat(whole)
            rootDevice = status.device
            try walkDirectory(whole, components: [], into: root, parent: parent)
            return
        }
        try walkTrie(trie, prefix: [], into: root, parent: parent)
    }

    private func walkTrie(_ trie: TargetTrie, prefix: [[UInt8]], into build: DirectoryBuild, parent: Tree?) throws {
        for (name, child) in trie.children.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let components = prefix + [name]
            let previous = parent?.node(named: name)
            if let source = child.wholeTarget {
                let status: FileStatus
                do { status = try FileStatus.lstat(source) } catch {
                    throw LifeboatError(.notFound, "cannot back up \(source.display): \((error as? LifeboatError)?.message ?? "\(error)")")
                }
                rootDevice = status.device
                try addEntry(name: name, path: source, components: components, status: status, into: build, previous: previous)
            } else {
                // An intermediate directory: its own metadata, and only the named children.
                let path = RawPath(bytes: Array(("/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")).utf8))
                let intermediate = child.intermediatePath(prefix: components) ?? path
                let status = try FileStatus.lstat(intermediate)
                var node = try nodeReader.node(name: name, path: intermediate, status: status)
                node.content = nil
                let directory = DirectoryBuild()
                directory.parentTreeID = previous?.subtree
                build.children.append((build.append(node), directory))
                try walkTrie(child, prefix: components, into: directory, parent: previous?.subtree.flatMap { loadTree($0) })
                pushDirectory(directory)
            }
        }
    }

    /// Walks a directory's entries. The outermost call starts a `MetadataPrefetcher` for the
    /// whole subtree; nested calls take their listing from it, in the same order.
    private func walkDirectory(_ path: RawPath, components: [[UInt8]], into build: DirectoryBuild, parent: Tree?) throws {
        if let prefetch {
            guard let listing = prefetch.next(), listing.path == path else {
                if failure.isSet { return }
                throw LifeboatError(.internalError, "metadata prefetch is out of step with the walk at \(path.display)")
            }
            try walkListing(consume listing, into: build)
            return
        }
        let prefetcher = MetadataPrefetcher(
            root: path, components: components, parentTree: parent, excludes: options.excludes,
            oneFileSystemDevice: options.oneFileSystem ? rootDevice : nil,
            loadTree: { [self] in loadTree($0) })
        prefetch = prefetcher
        defer {
            prefetch = nil
            prefetcher.stop()
        }
        try walkDirectory(path, components: components, into: build, parent: parent)
    }

    private func walkListing(_ listing: consuming MetadataPrefetcher.Listing, into build: DirectoryBuild) throws {
        if let error = listing.error {
            recordError(error)
            return
        }
        if build.parentTreeID != nil { build.parentNodes = listing.parentTree?.nodes }
        let adopted = build.adopt(&listing.nodes)
        defer { if adopted { build.endAdoption() } }
        for (index, entry) in listing.entries.enumerated() {
            if failure.isSet { return }
            let path = listing.path(of: entry)
            let status: FileStatus
            switch entry.status {
            case .success(let value): status = value
            case .failure(let error):
                recordError("cannot stat \(path.display): \(error.message)")
                continue
            }
            let prefetched: Result<Node, LifeboatError> = listing.nodeErrors[index].map { .failure($0) } ?? .success(adopted ? build.adopted(index) : listing.nodes[index])
            try addEntry(name: entry.name, path: path, components: entry.components, status: status, into: build,
                         previous: listing.parentTree?.node(named: entry.name), prefetched: prefetched)
        }
    }

    private func addEntry(name: [UInt8], path: RawPath, components: [[UInt8]], status: FileStatus,
                          into build: DirectoryBuild, previous: Node?,
                          prefetched: Result<Node, LifeboatError>? = nil) throws {
        if status.mode & 0o170000 == 0o140000 {
            summary.warnings.append("skipped socket \(path.display)")
            return
        }
        var node: Node
        do { node = try prefetched?.get() ?? nodeReader.node(name: name, path: path, status: status, previous: previous) } catch {
            recordError("cannot read metadata of \(path.display): \((error as? LifeboatError)?.message ?? "\(error)")")
            return
        }
        switch node.type {
        case .file:
            try addFile(node: &node, path: path, status: status, into: build, previous: previous)
        case .dir:
            node.content = nil
            let directory = DirectoryBuild()
            directory.parentTreeID = previous?.type == .dir ? previous?.subtree : nil
            build.children.append((build.append(node), directory))
            if options.oneFileSystem, let rootDevice, status.device != rootDevice {
                pushDirectory(directory)  // the mount point itself, empty
                return
            }
            // Under a prefetcher the listing brings the parent tree along.
            let parentTree = prefetch == nil ? directory.parentTreeID.flatMap { loadTree($0) } : nil
            try walkDirectory(path, components: components, into: directory, parent: parentTree)
            pushDirectory(directory)
        default:
            build.append(node)
        }
    }

    private func addFile(node: inout Node, path: RawPath, status: FileStatus, into build: DirectoryBuild, previous: Node?) throws {
        summary.totalFiles += 1
        summary.totalBytes += status.size
        // Unchanged since the parent snapshot: reuse its chunk list without reading.
        // A node's size is nil when it is 0 (the JSON omits it), so compare with `?? 0`.
        if !options.force, let previous, previous.type == .file, (previous.size ?? 0) == status.size,
           previous.mtime == status.mtime, previous.ctime == status.ctime, previous.inode == status.inode,
           let content = previous.content, saver.areKnown(content, type: .data) {
            node.content = content
            build.append(node)
            summary.filesUnmodified += 1
            progress?.update { $0.filesDone += 1; $0.bytesDone += status.size }
            return
        }
        if status.links > 1, let shared = hardLinks[HardLinkKey(device: status.device, inode: status.inode)] {
            // Another path of a file read above: not read again, but counted like restic counts it.
            if previous == nil { summary.filesNew += 1 } else { summary.filesChanged += 1 }
            build.files.append((build.append(node), shared))
            progress?.update { $0.filesDone += 1; $0.bytesDone += status.size }
            return
        }
        let content = FileContent()
        do {
            // A small file is read with one bounded read and its type checked afterwards.
            let isSmall = status.size < UInt64(smallFileLimit)
            let reader = try FileReader(path: path, checkType: !isSmall)
            defer { reader.close() }
            progress?.update { $0.currentPath = path.display }
            let read: UInt64
            if isSmall, let small = try addSmallFile(reader, expected: Int(status.size), content: content, directory: build) {
                read = small
                summary.bytesRead += read
                progress?.update { $0.bytesDone += read }
            } else {
                if isSmall { try reader.rewind() }  // it grew: read it again, chunked
                submitBatch()  // the chunking path needs two buffers of the pool
                read = try chunk(from: { try reader.read(into: $0) }, into: content, directory: build)
            }
            let after = try reader.fstat()
            guard after.isRegular, after.inode == status.inode, after.device == status.device else {
                // Replaced by something else between lstat and open: what was read is not this file.
                recordError("\(path.display) was replaced while it was read; skipped")
                return
            }
            if read != status.size || after.mtime != status.mtime || after.size != status.size {
                summary.warnings.append("\(path.display) changed while it was read")
                node.size = read
            }
        } catch let error as LifeboatError where error.code == .io {
            recordError(error.message)
            return
        }
        if status.links > 1 { hardLinks[HardLinkKey(device: status.device, inode: status.inode)] = content }
        if previous == nil { summary.filesNew += 1 } else { summary.filesChanged += 1 }
        progress?.update { $0.filesDone += 1 }
        build.files.append((build.append(node), content))
    }

    private func backupStandardInput(name: String, into root: DirectoryBuild) throws {
        let now = Timestamp.now()
        var node = Node(name: Array(name.utf8), type: .file, mode: 0o644, mtime: now, atime: now, ctime: now,
                        uid: getuid(), gid: getgid())
        let content = FileContent()
        let size = try chunk(from: { buffer in
            var total = 0
            while total < buffer.count {
                let n = read(0, buffer.baseAddress! + total, buffer.count - total)
                if n < 0 { if errno == EINTR { continue }; throw LifeboatError.posix("cannot read", "standard input", errno: errno) }
                if n == 0 { break }
                total += n
            }
            return total
        }, into: content, directory: root)
        node.size = size
        summary.totalFiles = 1
        summary.totalBytes = size
        summary.filesNew = 1
        root.files.append((root.append(node), content))
    }

    /// Reads a stream to its end, cutting it into chunks and queueing them for the workers.
    /// Data is read straight into pooled buffers; only the bytes after a cut are copied.
    ///
    /// While every byte of the current chunk is zero (free space in a volume image), each
    /// piece is scanned for cuts and then dropped, its zeros only counted: a chunk of
    /// nothing but zeros goes to the workers as a length, and the buffer stays one piece
    /// long instead of growing to 8 MiB. The first other byte writes the counted zeros out
    /// in front of it. The cuts are those of the bytes as read.
    /// - Returns: the number of bytes read.
    private func chunk(from read: (UnsafeMutableRawBufferPointer) throws -> Int, into content: FileContent,
                       directory: DirectoryBuild) throws -> UInt64 {
        chunker.reset()
        guard var buffer = buffers.take() else { throw failure.error! }
        var total: UInt64 = 0
        var countedZeros = 0       // leading zeros of the current chunk not in `buffer`
        var chunkIsZero = true     // every byte of the current chunk so far is zero
        while true {
            if let error = failure.error { buffers.give(buffer); throw error }
            let start = buffer.length
            // Never read past the maximum chunk size: the buffer stays at 8 MiB at most.
            let want = min(readSize, max(64 << 10, chunker.parameters.maxSize - countedZeros - start))
            buffer.reserve(start + want)
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { try read(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + want])) }
            } catch {
                buffers.give(buffer)
                throw error
            }
            if n == 0 { break }
            buffer.length += n
            total += UInt64(n)
            summary.bytesRead += UInt64(n)
            progress?.update { $0.bytesDone += UInt64(n) }
            if chunkIsZero {
                chunkIsZero = buffer.withUnsafeBytes { Chunker.zeroBytes(in: $0, from: start, limit: n) } == n
            }
            var scanFrom = start
            if chunkIsZero {
                countedZeros += start
                while scanFrom < buffer.length {
                    let end = buffer.length
                    guard let cut = buffer.withUnsafeBytes({ chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: $0[scanFrom..<end])) }) else {
                        countedZeros += end - scanFrom
                        break
                    }
                    submitZeros(countedZeros + cut, to: content, directory: directory)
                    countedZeros = 0
                    scanFrom += cut
                }
                buffer.length = 0
                continue
            }
            if countedZeros > 0 {
                // Only counted zeros came before this piece, so it sits at the buffer's start.
                let zeros = countedZeros
                buffer.reserve(zeros + n)
                buffer.withUnsafeMutableBytes { b in
                    memmove(b.baseAddress! + zeros, b.baseAddress!, n)
                    b.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: zeros)
                }
                buffer.length = zeros + n
                scanFrom = zeros
                countedZeros = 0
            }
            while scanFrom < buffer.length {
                let end = buffer.length
                let cut = buffer.withUnsafeBytes { chunker.nextBoundary(in: UnsafeRawBufferPointer(rebasing: $0[scanFrom..<end])) }
                guard let cut else { break }
                let chunkEnd = scanFrom + cut
                guard var next = buffers.take() else { throw failure.error! }
                let tail = buffer.length - chunkEnd
                next.reserve(max(tail, readSize))
                if tail > 0 {
                    next.withUnsafeMutableBytes { dst in
                        buffer.withUnsafeBytes { src in
                            dst.baseAddress!.copyMemory(from: src.baseAddress! + chunkEnd, byteCount: tail)
                        }
                    }
                }
                next.length = tail
                buffer.length = chunkEnd
                submit(buffer, to: content, directory: directory)
                buffer = next
                scanFrom = 0
                chunkIsZero = buffer.withUnsafeBytes { Chunker.zeroBytes(in: $0, from: 0, limit: tail) } == tail
            }
        }
        if countedZeros > 0 {
            submitZeros(countedZeros, to: content, directory: directory)
            buffers.give(buffer)
        } else if buffer.length > 0 {
            submit(buffer, to: content, directory: directory)
        } else {
            buffers.give(buffer)
        }
        return total
    }

    /// Queues a chunk of `length` zeros, which needs no buffer.
    private func submitZeros(_ length: Int, to content: FileContent, directory: DirectoryBuild) {
        jobs.push(ChunkJob(buffer: ChunkBuffer(), parts: [nextPart(of: content, directory: directory, start: 0, length: length)],
                           zeros: true))
    }

    private func submit(_ buffer: ChunkBuffer, to content: FileContent, directory: DirectoryBuild) {
        jobs.push(ChunkJob(buffer: buffer, parts: [nextPart(of: content, directory: directory, start: 0, length: buffer.length)]))
    }

    /// Numbers the next chunk of `content`; the directory's tree waits for it.
    func nextPart(of content: FileContent, directory: DirectoryBuild, start: Int, length: Int) -> ChunkPart {
        let part = ChunkPart(sequence: sequence, file: content, index: completion.addChunk(to: content), start: start, length: length)
        directory.lastSequence = sequence
        sequence += 1
        return part
    }

    /// Hands a finished directory to the assembler, after the batch holding its last files.
    private func pushDirectory(_ directory: DirectoryBuild) {
        submitBatch()
        directories.push(directory)
    }

    private func loadTree(_ id: ID) -> Tree? {
        let locations = saver.locations(of: id, type: .tree)
        guard !locations.isEmpty else { return nil }
        // A parent we cannot read only costs speed: every file is read again.
        return try? repository.loadTreeBlocking(id, locations: locations)
    }

    private func recordError(_ message: String) {
        summary.errors.append(message)
        progress?.update { $0.errors += 1 }
    }
}

/// The backup targets arranged by path component.
struct TargetTrie {
    var children: [[UInt8]: TargetTrie] = [:]
    /// Set where a target itself ends: the path to read.
    var wholeTarget: RawPath?
    private var sourcePrefix: RawPath?

    mutating func insert(_ components: [[UInt8]], source: RawPath) {
        guard let first = components.first else {
            wholeTarget = source
            return
        }
        var child = children[first] ?? TargetTrie()
        if child.sourcePrefix == nil {
            // Remember how to reach the intermediate directory with the user's spelling.
            let depth = components.count
            let parts = source.bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
                .filter { $0 != [UInt8(ascii: ".")] }
            let keep = parts.count - depth + 1
            if keep > 0 {
                let prefix = (source.bytes.first == UInt8(ascii: "/") ? "/" : "") +
                    parts.prefix(keep).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
                child.sourcePrefix = RawPath(prefix)
            }
        }
        child.insert(Array(components.dropFirst()), source: source)
        children[first] = child
    }

    func intermediatePath(prefix: [[UInt8]]) -> RawPath? { sourcePrefix }
}
