public import LifeboatCore

/// One entry of a tree blob: a file, directory, symlink, device, FIFO or socket.
///
/// Field names and meanings follow restic's node JSON (docs/format.md). Names and link
/// targets are raw bytes: file names on Linux need not be UTF-8.
public struct Node: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case file, dir, symlink
        case blockDevice = "dev"
        case charDevice = "chardev"
        case fifo, socket, irregular
    }

    public struct ExtendedAttribute: Sendable, Equatable {
        public var name: String
        public var value: [UInt8]
        public init(name: String, value: [UInt8]) { self.name = name; self.value = value }
    }

    public var name: [UInt8]
    public var type: Kind
    /// Go `os.FileMode` bits (see `GoFileMode`), not Unix `st_mode`.
    public var mode: UInt32
    public var mtime: Timestamp
    public var atime: Timestamp
    public var ctime: Timestamp
    public var uid: UInt32
    public var gid: UInt32
    public var user: String?
    public var group: String?
    public var inode: UInt64?
    public var deviceID: UInt64?
    /// Files only: the byte length, equal to the sum of the content chunks.
    public var size: UInt64?
    public var links: UInt64?
    /// Symlinks only, raw bytes.
    public var linkTarget: [UInt8]?
    public var extendedAttributes: [ExtendedAttribute]
    /// Devices only: `st_rdev` in Linux encoding.
    public var device: UInt64?
    /// Files: data blob IDs in order (`[]` for an empty file). Everything else: nil (`null`).
    public var content: [ID]?
    /// Directories: the child tree.
    public var subtree: ID?
    /// A problem met while reading this item.
    public var error: String?

    public init(name: [UInt8], type: Kind, mode: UInt32 = 0, mtime: Timestamp = .epoch, atime: Timestamp = .epoch,
                ctime: Timestamp = .epoch, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.name = name
        self.type = type
        self.mode = mode
        self.mtime = mtime
        self.atime = atime
        self.ctime = ctime
        self.uid = uid
        self.gid = gid
        self.extendedAttributes = []
        self.content = type == .file ? [] : nil
    }

    /// The name as text for display (invalid UTF-8 shown as U+FFFD).
    public var displayName: String { String(decoding: name, as: UTF8.self) }
}

/// Go's `os.FileMode` flag bits, which restic stores in `mode`.
public enum GoFileMode {
    public static let dir: UInt32 = 1 << 31
    public static let symlink: UInt32 = 1 << 27
    public static let device: UInt32 = 1 << 26
    public static let namedPipe: UInt32 = 1 << 25
    public static let socket: UInt32 = 1 << 24
    public static let setuid: UInt32 = 1 << 23
    public static let setgid: UInt32 = 1 << 22
    public static let charDevice: UInt32 = 1 << 21
    public static let sticky: UInt32 = 1 << 20
    public static let irregular: UInt32 = 1 << 19
    public static let permissions: UInt32 = 0o777

    /// Converts Unix `st_mode` bits to Go's representation.
    public static func from(unixMode m: UInt32) -> UInt32 {
        var out = m & 0o777
        switch m & 0o170000 {
        case 0o040000: out |= dir
        case 0o120000: out |= symlink
        case 0o060000: out |= device
        case 0o020000: out |= device | charDevice
        case 0o010000: out |= namedPipe
        case 0o140000: out |= socket
        default: break
        }
        if m & 0o4000 != 0 { out |= setuid }
        if m & 0o2000 != 0 { out |= setgid }
        if m & 0o1000 != 0 { out |= sticky }
        return out
    }

    /// The permission, setuid, setgid and sticky bits as Unix mode bits (for chmod).
    public static func unixPermissions(_ goMode: UInt32) -> UInt32 {
        var out = goMode & 0o777
        if goMode & setuid != 0 { out |= 0o4000 }
        if goMode & setgid != 0 { out |= 0o2000 }
        if goMode & sticky != 0 { out |= 0o1000 }
        return out
    }
}

/// A directory listing: nodes sorted by raw name bytes, names unique.
public struct Tree: Sendable, Equatable {
    public var nodes: [Node]
    public init(nodes: [Node] = []) { self.nodes = nodes }

    /// Sorts nodes by raw name bytes, as restic requires.
    public mutating func sort() {
        nodes.sort { bytesPrecede($0.name, $1.name) }
    }

    /// Binary search by raw name.
    public func node(named name: [UInt8]) -> Node? {
        var lo = 0, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bytesPrecede(nodes[mid].name, name) { lo = mid + 1 } else { hi = mid }
        }
        return lo < nodes.count && nodes[lo].name == name ? nodes[lo] : nil
    }
}
