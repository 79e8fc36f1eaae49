import LifeboatCore

/// Counts files and bytes of the backup targets ahead of the walk, so progress can show
/// an ETA. Runs on its own thread, touches only metadata, and gives up quietly on errors.
struct Scanner {
    let excludes: [GlobPattern]
    let progress: BackupProgress

    func scan(_ paths: [String]) {
        for path in paths {
            let raw = RawPath(path)
            guard let status = try? FileStatus.lstat(raw) else { continue }
            visit(raw, components: pathComponents(raw.bytes), status: status)
        }
        progress.update { $0.scanFinished = true }
    }

    private func visit(_ path: RawPath, components: [[UInt8]], status: FileStatus) {
        if status.isRegular {
            progress.update { $0.filesTotal += 1; $0.bytesTotal += status.size }
            return
        }
        guard status.isDirectory, let names = try? Directory.entries(of: path) else { return }
        for name in names {
            let child = components + [name]
            if excludes.contains(where: { $0.matches(child) }) { continue }
            let childPath = path.appending(component: name)
            if let s = try? FileStatus.lstat(childPath) { visit(childPath, components: child, status: s) }
        }
    }
}
