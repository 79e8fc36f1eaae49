#if canImport(Glibc)
import Glibc
#endif

/// A restic-style path pattern: shell globs per path component (`*`, `?`, `[…]`), `**`
/// for any number of directories. A pattern starting with `/` is anchored at the root;
/// any other pattern may match starting at any component (`*.log` matches `/a/b/x.log`).
public struct GlobPattern: Sendable, CustomStringConvertible {
    public let text: String
    private let components: [[UInt8]]
    private let anchored: Bool
    private let caseInsensitive: Bool

    public init(_ text: String, caseInsensitive: Bool = false) {
        self.text = text
        anchored = text.hasPrefix("/")
        self.caseInsensitive = caseInsensitive
        components = text.split(separator: "/", omittingEmptySubsequences: true).map { Array($0.utf8) }
    }

    public var description: String { text }

    /// Whether the pattern matches the path (its components, from the root).
    public func matches(_ path: [[UInt8]]) -> Bool {
        guard !components.isEmpty else { return false }
        if anchored { return match(pattern: 0, path: path, at: 0, prefix: false) }
        for start in 0..<max(1, path.count) where match(pattern: 0, path: path, at: start, prefix: false) {
            return true
        }
        return false
    }

    /// Whether something below `directory` could match (used by restore's includes).
    public func mayMatchBelow(_ directory: [[UInt8]]) -> Bool {
        guard !components.isEmpty else { return false }
        if !anchored { return true }
        return match(pattern: 0, path: directory, at: 0, prefix: true)
    }

    /// Matches pattern components from `p` against path components from `i`. With
    /// `prefix`, running out of path first counts as a (partial) match.
    private func match(pattern p: Int, path: [[UInt8]], at i: Int, prefix: Bool) -> Bool {
        if p == components.count { return i == path.count }
        if i == path.count { return prefix || components[p...].allSatisfy { $0 == Array("**".utf8) } }
        if components[p] == Array("**".utf8) {
            // `**` takes zero or more components.
            for j in i...path.count where match(pattern: p + 1, path: path, at: j, prefix: prefix) { return true }
            return false
        }
        guard componentMatches(components[p], path[i]) else { return false }
        return match(pattern: p + 1, path: path, at: i + 1, prefix: prefix)
    }

    private func componentMatches(_ pattern: [UInt8], _ name: [UInt8]) -> Bool {
        let flags: Int32 = caseInsensitive ? 1 << 4 : 0  // FNM_CASEFOLD, a GNU extension Swift does not import
        return (pattern + [0]).withUnsafeBufferPointer { p in
            (name + [0]).withUnsafeBufferPointer { n in
                p.withMemoryRebound(to: CChar.self) { pc in
                    n.withMemoryRebound(to: CChar.self) { nc in fnmatch(pc.baseAddress, nc.baseAddress, flags) == 0 }
                }
            }
        }
    }
}

/// Splits a path into its non-empty components, dropping `.`.
public func pathComponents(_ path: [UInt8]) -> [[UInt8]] {
    path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        .map(Array.init)
        .filter { $0 != [UInt8(ascii: ".")] }
}
