/// A file system path as raw bytes: Linux paths need not be UTF-8.
public struct RawPath: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// This path with `component` appended after a single `/`.
    public func appending(component: [UInt8]) -> RawPath {
        var out = bytes
        if !out.isEmpty && out.last != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        out += component
        return RawPath(bytes: out)
    }

    /// The path as text for messages (invalid UTF-8 shown as U+FFFD).
    public var display: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { display }
}
