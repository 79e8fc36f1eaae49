public import LifeboatCore

/// Velero's namespace filter: include and exclude globs; excludes win.
public struct NamespaceFilter: Sendable {
    public var includes: [String]
    public var excludes: [String]

    public init(includes: [String] = [], excludes: [String] = []) {
        self.includes = includes.isEmpty ? ["*"] : includes
        self.excludes = excludes
    }

    /// True when every namespace is in (so cluster-scoped objects belong to the backup in auto mode).
    public var isEverything: Bool { includes.contains("*") && excludes.isEmpty }

    /// Names to list one by one instead of listing across all namespaces (no globs given).
    public var literalNames: [String]? {
        includes.allSatisfy({ !$0.contains(where: { "*?[".contains($0) }) }) ? includes.filter(matches) : nil
    }

    public func matches(_ namespace: String) -> Bool {
        includes.contains { System.glob($0, matches: namespace) } && !excludes.contains { System.glob($0, matches: namespace) }
    }
}

/// Velero's resource filter: `resource`, `resource.group`, kind or short name; `*` for all.
public struct ResourceFilter: Sendable {
    public var includes: [String]
    public var excludes: [String]

    public init(includes: [String] = [], excludes: [String] = []) {
        self.includes = includes.isEmpty ? ["*"] : includes.map { $0.lowercased() }
        self.excludes = excludes.map { $0.lowercased() }
    }

    public func matches(_ r: APIResource) -> Bool {
        matches(resource: r.name, group: r.group, kind: r.kind, shortNames: r.shortNames, singular: r.singularName)
    }

    public func matches(resource: String, group: String, kind: String = "", shortNames: [String] = [], singular: String = "") -> Bool {
        let included = includes.contains { term in term == "*" || Self.term(term, names: resource, group, kind, shortNames, singular) }
        return included && !isExcluded(resource: resource, group: group, kind: kind, shortNames: shortNames, singular: singular)
    }

    public func isExcluded(resource: String, group: String, kind: String = "", shortNames: [String] = [], singular: String = "") -> Bool {
        excludes.contains { term in term == "*" || Self.term(term, names: resource, group, kind, shortNames, singular) }
    }

    /// True when `resource` is named explicitly (not through `*`): that overrides the default skip list.
    public func namesExplicitly(_ r: APIResource) -> Bool {
        includes.contains { $0 != "*" && Self.term($0, names: r.name, r.group, r.kind, r.shortNames, r.singularName) }
    }

    static func term(_ term: String, names resource: String, _ group: String, _ kind: String, _ shortNames: [String], _ singular: String) -> Bool {
        var candidates = [resource, kind.lowercased(), singular] + shortNames
        candidates = candidates.filter { !$0.isEmpty }
        for c in candidates {
            if term == c { return true }
            if term == "\(c).\(group)" { return true }
            if group.isEmpty && term == "\(c)." { return true }
        }
        return false
    }
}

/// A Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
public struct LabelSelector: Sendable, CustomStringConvertible {
    enum Operator: Sendable { case equals, notEquals, inSet, notInSet, exists, notExists }
    struct Requirement: Sendable { var key: String; var op: Operator; var values: [String] }
    var requirements: [Requirement]
    public let description: String

    public init(parsing text: String) throws {
        description = text
        requirements = []
        for part in Self.splitTopLevel(text) {
            let p = part.trimmingCharacters(in: " \t")
            if p.isEmpty { continue }
            requirements.append(try Self.requirement(p, in: text))
        }
        if requirements.isEmpty { throw LifeboatError(.invalidArgument, "label selector \"\(text)\" is empty") }
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for ch in text {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == "," && depth == 0 { parts.append(current); current = "" } else { current.append(ch) }
        }
        parts.append(current)
        return parts
    }

    private static func requirement(_ p: String, in text: String) throws -> Requirement {
        let bad = { LifeboatError(.invalidArgument, "invalid label selector \"\(text)\" at \"\(p)\"",
                                  hint: "use key=value, key!=value, key in (a,b), key notin (a), key or !key, joined by commas") }
        let words = p.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count >= 3, words[1] == "in" || words[1] == "notin" {
            let rest = words[2...].joined(separator: " ")
            guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw bad() }
            let values = rest.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
            guard try validKey(words[0]) else { throw bad() }
            return Requirement(key: words[0], op: words[1] == "in" ? .inSet : .notInSet, values: values)
        }
        for (token, op) in [("!=", Operator.notEquals), ("==", .equals), ("=", .equals)] {
            if let r = p.firstRange(of: token) {
                let key = String(p[..<r.lowerBound]).trimmingCharacters(in: " ")
                let value = String(p[r.upperBound...]).trimmingCharacters(in: " ")
                guard try validKey(key), !value.contains(where: { " =!(),".contains($0) }) else { throw bad() }
                return Requirement(key: key, op: op, values: [value])
            }
        }
        if p.hasPrefix("!") {
            let key = String(p.dropFirst()).trimmingCharacters(in: " ")
            guard try validKey(key) else { throw bad() }
            return Requirement(key: key, op: .notExists, values: [])
        }
        guard try validKey(p) else { throw bad() }
        return Requirement(key: p, op: .exists, values: [])
    }

    private static func validKey(_ key: String) throws -> Bool {
        !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { r in
            let value = labels[r.key]
            switch r.op {
            case .equals, .inSet: return value.map(r.values.contains) ?? false
            case .notEquals, .notInSet: return value.map { !r.values.contains($0) } ?? true
            case .exists: return value != nil
            case .notExists: return value == nil
            }
        }
    }

    public static func labels(of object: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        for m in object["metadata"]?["labels"]?.objectValue ?? [] { out[m.key] = m.value.stringValue ?? "" }
        return out
    }
}

/// Everything that decides which objects a backup or restore takes.
public struct ObjectFilters: Sendable {
    public var namespaces = NamespaceFilter()
    public var resources = ResourceFilter()
    /// One selector (`--selector`) or several ORed (`--or-selector`); empty: every object.
    public var selectors: [LabelSelector] = []
    /// nil: auto (cluster-scoped objects when the whole cluster is taken, plus those namespaced ones need).
    public var includeClusterResources: Bool?
    public var excludeSecrets = false

    public init() {}

    public func labelsMatch(_ object: JSONValue) -> Bool {
        if selectors.isEmpty { return true }
        let labels = LabelSelector.labels(of: object)
        return selectors.contains { $0.matches(labels) }
    }

    /// Describes the filters for the snapshot's metadata file and for `--json` output.
    public func describe(into w: inout JSONWriter) {
        w.beginObject()
        w.key("includeNamespaces"); w.beginArray(); namespaces.includes.forEach { w.string($0) }; w.endArray()
        w.key("excludeNamespaces"); w.beginArray(); namespaces.excludes.forEach { w.string($0) }; w.endArray()
        w.key("includeResources"); w.beginArray(); resources.includes.forEach { w.string($0) }; w.endArray()
        w.key("excludeResources"); w.beginArray(); resources.excludes.forEach { w.string($0) }; w.endArray()
        w.key("labelSelectors"); w.beginArray(); selectors.forEach { w.string($0.description) }; w.endArray()
        w.key("includeClusterResources"); w.string(includeClusterResources.map { $0 ? "true" : "false" } ?? "auto")
        w.key("excludeSecrets"); w.bool(excludeSecrets)
        w.endObject()
    }
}
