/// A minimal XML reader for S3 replies: elements, text and the five entities plus numeric
/// references. Attributes, comments, processing instructions and namespaces are skipped.
public struct XMLElement: Sendable {
    public var name: String
    public var text = ""
    public var children: [XMLElement] = []

    public init(name: String) { self.name = name }

    /// The first child with that name.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// The text of the first child with that name.
    public subscript(_ name: String) -> String? { child(name)?.text }

    /// Parses a document; nil when it is not well-formed enough to read.
    public static func parse(_ bytes: [UInt8]) -> XMLElement? {
        var parser = XMLParser(bytes: bytes)
        return parser.document()
    }
}

private struct XMLParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> XMLElement? {
        var stack: [XMLElement] = []
        var root: XMLElement?
        var text: [UInt8] = []
        while i < bytes.count {
            if bytes[i] != UInt8(ascii: "<") {
                text.append(bytes[i])
                i += 1
                continue
            }
            if startsWith("<!--") { skip(past: "-->"); continue }
            if startsWith("<![CDATA[") {
                i += 9
                let start = i
                skip(past: "]]>")
                text.append(contentsOf: bytes[start..<max(start, i - 3)])
                continue
            }
            if startsWith("<?") || startsWith("<!") { skip(past: ">"); continue }
            if startsWith("</") {
                i += 2
                let name = readName()
                skip(past: ">")
                guard var element = stack.popLast(), element.name == name else { return nil }
                element.text = decodeEntities(text)
                text.removeAll()
                if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                continue
            }
            i += 1
            let name = readName()
            guard !name.isEmpty else { return nil }
            // Skip attributes up to the end of the tag, noting a self-closing "/>".
            var selfClosing = false
            var quote: UInt8?
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                if let q = quote { if c == q { quote = nil }; continue }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { quote = c; continue }
                if c == UInt8(ascii: ">") { selfClosing = bytes[i - 2] == UInt8(ascii: "/"); break }
            }
            text.removeAll()
            let element = XMLElement(name: name)
            if selfClosing {
                if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
            } else {
                stack.append(element)
            }
        }
        return stack.isEmpty ? root : nil
    }

    func startsWith(_ literal: String) -> Bool {
        let utf8 = Array(literal.utf8)
        return i + utf8.count <= bytes.count && Array(bytes[i..<i + utf8.count]) == utf8
    }

    mutating func skip(past literal: String) {
        while i < bytes.count && !startsWith(literal) { i += 1 }
        i = min(bytes.count, i + literal.utf8.count)
    }

    mutating func readName() -> String {
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: ">") || c == UInt8(ascii: "/") || c == UInt8(ascii: "\t")
                || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { break }
            i += 1
        }
        let name = String(decoding: bytes[start..<i], as: UTF8.self)
        // Drop a namespace prefix ("s3:Key" -> "Key").
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }
}

func decodeEntities(_ raw: [UInt8]) -> String {
    guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
    var out: [UInt8] = []
    var i = 0
    while i < raw.count {
        guard raw[i] == UInt8(ascii: "&"), let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 10 else {
            out.append(raw[i])
            i += 1
            continue
        }
        let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
        var scalar: Unicode.Scalar?
        switch entity {
        case "amp": scalar = "&"
        case "lt": scalar = "<"
        case "gt": scalar = ">"
        case "quot": scalar = "\""
        case "apos": scalar = "'"
        default:
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
            } else if entity.hasPrefix("#") {
                scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init)
            }
        }
        if let scalar {
            out.append(contentsOf: Array(String(scalar).utf8))
            i = semicolon + 1
        } else {
            out.append(raw[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Escapes text for an XML element body.
func xmlEscape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(character)
        }
    }
    return out
}
