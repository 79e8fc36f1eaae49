public import LifeboatCore
import Yams

/// YAML (1.1, as Kubernetes reads it) to and from `JSONValue`: kubeconfigs, manifests.
public enum YAML {
    /// Every non-empty document of a (multi-document) YAML or JSON text.
    /// - Throws: `.invalidArgument` naming `source` and the line of the problem.
    public static func documents(_ text: String, source: String) throws -> [JSONValue] {
        do {
            var out: [JSONValue] = []
            var sequence = try Yams.compose_all(yaml: text)
            while let node = sequence.next() {
                let value = try convert(node, source: source)
                if !value.isNull { out.append(value) }
            }
            // The sequence stops at a syntax error and keeps it.
            if let error = sequence.error { throw error }
            return out
        } catch let error as LifeboatError {
            throw error
        } catch {
            throw LifeboatError(.invalidArgument, "\(source) is not valid YAML: \(error)")
        }
    }

    private static func convert(_ node: Node, source: String) throws -> JSONValue {
        switch node {
        case .scalar(let s):
            // Quoted scalars are strings; plain ones are resolved as YAML 1.1 (bools, ints, floats, null).
            let raw = s.tag.rawValue
            let name: Tag.Name = s.style != .plain ? .str
                : (raw.isEmpty || raw == "?" || raw == "!") ? Resolver.default.resolveTag(of: node) : Tag.Name(rawValue: raw)
            switch name {
            case .null: return .null
            case .bool: return .bool(["true", "yes", "on", "y"].contains(s.string.lowercased()))
            case .int:
                if let i = Int64(s.string.replacing("_", with: "")) { return i < 0 ? .number(.signed(i)) : .number(.unsigned(UInt64(i))) }
                if let i = node.int { return i < 0 ? .number(.signed(Int64(i))) : .number(.unsigned(UInt64(i))) }
                return .string(s.string)
            case .float:
                if let d = Double(s.string) ?? node.float { return .number(.double(d)) }
                return .string(s.string)
            default: return .string(s.string)
            }
        case .mapping(let m):
            var members: [JSONValue.Member] = []
            for (k, v) in m {
                guard case .scalar(let key) = k else {
                    throw LifeboatError(.invalidArgument, "\(source): a mapping key is not a string (line \((k.mark?.line ?? 0)))")
                }
                members.append(.init(key: key.string, value: try convert(v, source: source)))
            }
            return .object(members)
        case .sequence(let items):
            return .array(try items.map { try convert($0, source: source) })
        case .alias:
            throw LifeboatError(.invalidArgument, "\(source): YAML aliases are not supported")
        }
    }

    /// One YAML document (block style, keys in stored order).
    public static func render(_ value: JSONValue) throws -> String {
        try Yams.serialize(node: node(value), indent: 2, width: -1, allowUnicode: true)
    }

    private static func node(_ value: JSONValue) -> Node {
        switch value {
        case .object(let members): return .mapping(.init(members.map { (Node($0.key), node($0.value)) }))
        case .array(let items): return .sequence(.init(items.map(node)))
        case .string(let s):
            // Quote strings a YAML 1.1 reader would take for another type ("yes", "1.0", "null").
            let plain = Node(s)
            let resolved = Resolver.default.resolveTag(of: plain)
            return Node(s, Tag(.str), resolved == .str && !s.isEmpty ? .any : .doubleQuoted)
        case .number: return Node(value.compactString(), Tag(value.doubleValue.map { $0 == $0.rounded() } == true && !value.compactString().contains(".") ? .int : .float))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .null: return Node("null", Tag(.null))
        }
    }
}
