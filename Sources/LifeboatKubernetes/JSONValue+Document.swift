public import LifeboatCore

/// Reading and editing Kubernetes objects held as `JSONValue` trees.
extension JSONValue {
    /// The value at a path of object keys, e.g. `["metadata", "name"]`.
    public subscript(path path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    public func string(_ path: String...) -> String? { self[path: path]?.stringValue }

    /// Sets (or adds at the end) the member `key` of an object; no effect on other values.
    public mutating func set(_ key: String, _ value: JSONValue) {
        guard case .object(var members) = self else { return }
        if let i = members.lastIndex(where: { $0.key == key }) {
            members[i].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
        self = .object(members)
    }

    /// Removes every member named `key` of an object.
    public mutating func remove(_ key: String) {
        guard case .object(var members) = self else { return }
        members.removeAll { $0.key == key }
        self = .object(members)
    }

    /// Applies `change` to the value at `path` if every object along it exists.
    public mutating func update(_ path: [String], _ change: (inout JSONValue) -> Void) {
        guard let first = path.first else { change(&self); return }
        guard var child = self[first] else { return }
        child.update(Array(path.dropFirst()), change)
        set(first, child)
    }

    /// Compact JSON, members in their stored order.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 1024)
        write(to: &writer)
        return writer.bytes
    }

    public func write(to writer: inout JSONWriter) {
        switch self {
        case .object(let members):
            writer.beginObject()
            for m in members {
                writer.key(m.key)
                m.value.write(to: &writer)
            }
            writer.endObject()
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer) }
            writer.endArray()
        case .string(let s): writer.string(s)
        case .number(.unsigned(let v)): writer.number(v)
        case .number(.signed(let v)): writer.number(v)
        case .number(.double(let d)): writer.rawValue(Array(Self.format(d).utf8))
        case .bool(let b): writer.bool(b)
        case .null: writer.null()
        }
    }

    /// Indented JSON (two spaces), for manifests people read.
    public func pretty() -> String {
        var out = ""
        prettyWrite(into: &out, indent: "")
        out += "\n"
        return out
    }

    private func prettyWrite(into out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (i, m) in members.enumerated() {
                out += inner + JSONValue.string(m.key).compactString() + ": "
                m.value.prettyWrite(into: &out, indent: inner)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += indent + "}"
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.prettyWrite(into: &out, indent: inner)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += indent + "]"
        default:
            out += compactString()
        }
    }

    public func compactString() -> String { String(decoding: serialized(), as: UTF8.self) }

    static func format(_ d: Double) -> String {
        if d.isFinite && d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        return d.isFinite ? "\(d)" : "null"
    }

    /// Structural equality that ignores member order (Kubernetes objects are maps).
    public func sameContent(as other: JSONValue) -> Bool {
        switch (self, other) {
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for m in a {
                guard let o = other[m.key], m.value.sameContent(as: o) else { return false }
            }
            return true
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameContent(as: $1) }
        case (.number, .number):
            return self.doubleValue == other.doubleValue
        default:
            return self == other
        }
    }
}
