public import LifeboatCore

/// Filters snapshots the way restic's `--host`, `--tag` and `--path` do.
public struct SnapshotFilter: Sendable {
    public var hosts: [String] = []
    /// Each entry is a comma-separated group; a snapshot matches if it has every tag of
    /// at least one group.
    public var tags: [String] = []
    public var paths: [String] = []
    public init(hosts: [String] = [], tags: [String] = [], paths: [String] = []) {
        self.hosts = hosts; self.tags = tags; self.paths = paths
    }

    public func matches(_ s: Snapshot) -> Bool {
        if !hosts.isEmpty && !hosts.contains(s.hostname ?? "") { return false }
        if !tags.isEmpty {
            let groups = tags.map { $0.split(separator: ",").map(String.init) }
            if !groups.contains(where: { group in group.allSatisfy { s.tags.contains($0) } }) { return false }
        }
        if !paths.isEmpty && !paths.allSatisfy({ s.paths.contains($0) }) { return false }
        return true
    }
}

/// Resolves what the user typed as SNAPSHOT: a full ID, a unique prefix, `latest`, each
/// optionally followed by `:subpath`, and optionally narrowed to a point in time.
public struct SnapshotSelector: Sendable, Equatable {
    public var reference: String
    public var subpath: String?

    public init(parsing text: String) {
        if let colon = text.firstIndex(of: ":") {
            reference = String(text[..<colon])
            let rest = String(text[text.index(after: colon)...])
            subpath = rest.isEmpty ? nil : rest
        } else {
            reference = text
        }
    }

    /// - Parameter at: pick the newest matching snapshot taken at or before this instant.
    /// - Throws: `.notFound` with the reason (no match, ambiguous prefix).
    public func resolve(in all: [(id: ID, snapshot: Snapshot)], filter: SnapshotFilter = SnapshotFilter(),
                        at: Timestamp? = nil) throws -> (id: ID, snapshot: Snapshot) {
        var candidates = all.filter { filter.matches($0.snapshot) }
        if let at { candidates = candidates.filter { $0.snapshot.time <= at } }
        if reference == "latest" {
            guard let newest = candidates.max(by: { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }) else {
                var why = "no snapshot matches"
                if let at { why += " at or before \(at.rfc3339)" }
                throw LifeboatError(.notFound, why, hint: "list them with `lifeboat snapshots`")
            }
            return newest
        }
        let prefix = reference.lowercased()
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isHexDigit }) else {
            throw LifeboatError(.invalidArgument, "\"\(reference)\" is neither a snapshot ID nor `latest`")
        }
        let matches = all.filter { $0.id.hex.hasPrefix(prefix) }
        if matches.count > 1 {
            throw LifeboatError(.invalidArgument, "snapshot prefix \(reference) is ambiguous (\(matches.count) snapshots match)",
                                hint: "give more characters of the ID")
        }
        guard let match = matches.first else {
            throw LifeboatError(.notFound, "no snapshot with ID \(reference)", hint: "list them with `lifeboat snapshots`")
        }
        if let at, match.snapshot.time > at {
            throw LifeboatError(.invalidArgument, "snapshot \(match.id.short) was taken after \(at.rfc3339)")
        }
        return match
    }

    /// The subpath as components (empty for the whole snapshot).
    public var subpathComponents: [[UInt8]] {
        (subpath ?? "").split(separator: "/").filter { $0 != "." && !$0.isEmpty }.map { Array($0.utf8) }
    }
}
