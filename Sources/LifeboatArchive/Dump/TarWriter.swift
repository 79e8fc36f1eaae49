import LifeboatCore
import LifeboatRepository

/// Writes a POSIX (pax) tar stream: ustar headers, with pax extended headers for what
/// ustar cannot hold (long or non-ASCII names, large sizes, sub-second times, xattrs).
struct TarWriter {
    private(set) var output: [UInt8] = []

    mutating func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Appends the header(s) of an entry; file data follows via `appendData` and `pad`.
    mutating func header(path: [UInt8], node: Node, linkTarget: [UInt8]? = nil, hardLink: Bool = false) {
        var pax: [(String, [UInt8])] = []
        let typeFlag: UInt8
        var size: UInt64 = 0
        switch node.type {
        case .file where hardLink: typeFlag = UInt8(ascii: "1")
        case .file: typeFlag = UInt8(ascii: "0"); size = node.size ?? 0
        case .dir: typeFlag = UInt8(ascii: "5")
        case .symlink: typeFlag = UInt8(ascii: "2")
        case .charDevice: typeFlag = UInt8(ascii: "3")
        case .blockDevice: typeFlag = UInt8(ascii: "4")
        case .fifo: typeFlag = UInt8(ascii: "6")
        default: return
        }
        var name = path
        if node.type == .dir { name.append(UInt8(ascii: "/")) }
        let link = linkTarget ?? node.linkTarget ?? []
        if name.count > 100 || !name.allSatisfy({ $0 < 0x80 }) { pax.append(("path", name)) }
        if link.count > 100 || !link.allSatisfy({ $0 < 0x80 }) { pax.append(("linkpath", link)) }
        if size > 0o77777777777 { pax.append(("size", Array(String(size).utf8))) }
        if node.mtime.nanoseconds != 0 || node.mtime.seconds < 0 {
            let fraction = String(format9(node.mtime.nanoseconds))
            pax.append(("mtime", Array("\(node.mtime.seconds).\(fraction)".utf8)))
        }
        if let user = node.user, user.utf8.count > 31 { pax.append(("uname", Array(user.utf8))) }
        if let group = node.group, group.utf8.count > 31 { pax.append(("gname", Array(group.utf8))) }
        for attribute in node.extendedAttributes {
            pax.append(("SCHILY.xattr." + attribute.name, attribute.value))
        }
        if !pax.isEmpty {
            var body: [UInt8] = []
            for (key, value) in pax { body += paxRecord(key, value) }
            appendBlock(name: Array("PaxHeaders/".utf8) + Array(name.suffix(80)), mode: 0o644, uid: 0, gid: 0, size: UInt64(body.count),
                        mtime: 0, type: UInt8(ascii: "x"), link: [], user: "", group: "", device: nil)
            output += body
            pad(UInt64(body.count))
        }
        appendBlock(name: Array(name.prefix(100)), mode: GoFileMode.unixPermissions(node.mode), uid: node.uid, gid: node.gid,
                    size: size, mtime: max(0, node.mtime.seconds), type: typeFlag, link: Array(link.prefix(100)),
                    user: node.user ?? "", group: node.group ?? "",
                    device: [.charDevice, .blockDevice].contains(node.type) ? node.device : nil)
    }

    mutating func appendData(_ bytes: [UInt8]) { output += bytes }

    /// Pads file data to a 512-byte boundary.
    mutating func pad(_ size: UInt64) {
        let rest = Int(size % 512)
        if rest != 0 { output += [UInt8](repeating: 0, count: 512 - rest) }
    }

    /// Two zero blocks end the archive.
    mutating func finish() { output += [UInt8](repeating: 0, count: 1024) }

    private mutating func appendBlock(name: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32, size: UInt64, mtime: Int64,
                                      type: UInt8, link: [UInt8], user: String, group: String, device: UInt64?) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int, max: Int) {
            for (i, b) in bytes.prefix(max).enumerated() { h[offset + i] = b }
        }
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let text = String(repeating: "0", count: Swift.max(0, width - 1 - digits.count)) + digits
            put(Array(text.utf8.suffix(width - 1)), at: offset, max: width - 1)
        }
        put(name, at: 0, max: 100)
        octal(UInt64(mode), at: 100, width: 8)
        octal(UInt64(uid) & 0o7777777, at: 108, width: 8)
        octal(UInt64(gid) & 0o7777777, at: 116, width: 8)
        octal(Swift.min(size, 0o77777777777), at: 124, width: 12)
        octal(UInt64(mtime), at: 136, width: 12)
        h[156] = type
        put(link, at: 157, max: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, max: 8)
        put(Array(user.utf8), at: 265, max: 31)
        put(Array(group.utf8), at: 297, max: 31)
        if let device {
            let major = (device >> 8) & 0xfff | (device >> 32) & ~0xfff
            let minor = device & 0xff | (device >> 12) & ~0xff
            octal(major, at: 329, width: 8)
            octal(minor, at: 337, width: 8)
        }
        for i in 148..<156 { h[i] = UInt8(ascii: " ") }
        let sum = h.reduce(0) { $0 + UInt64($1) }
        octal(sum, at: 148, width: 7)
        h[155] = UInt8(ascii: " ")
        output += h
    }

    private func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        // "%d %s=%s\n", where the length counts itself.
        let body = Array(" \(key)=".utf8) + value + [0x0a]
        var length = body.count + 1
        while String(length).count + body.count != length { length = String(length).count + body.count }
        return Array(String(length).utf8) + body
    }

    private func format9(_ nanoseconds: Int32) -> String {
        let s = String(nanoseconds)
        return String(repeating: "0", count: 9 - s.count) + s
    }
}
