public import LifeboatCore

/// Tree blobs as restic 0.14 writes them: `{"nodes":[…]}` plus a newline, fields in
/// restic's declaration order (RESTIC-V2-FORMAT.md §7.4). The bytes decide the tree's ID,
/// so every omitempty rule matters.
extension Tree {
    /// The blob plaintext; its SHA-256 is the tree's ID.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 64 + nodes.count * 400)
        w.beginObject()
        w.key("nodes")
        w.beginArray()
        for node in nodes { node.write(to: &w) }
        w.endArray()
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// Decodes a tree blob; unknown fields are ignored, `"nodes":null` is an empty tree.
    /// Streams over the bytes without a JSON tree: trees are decoded on every walk.
    /// - Throws: `.corrupt` for invalid JSON, wrong field types, bad names or node types.
    public init(decoding bytes: [UInt8]) throws {
        var nodes: [Node] = []
        // Sized from the JSON up front (a node takes 250 bytes or more of it): growing by
        // doubling held two copies of a large directory's nodes at once, and the pages a
        // generous estimate leaves untouched are never made resident.
        nodes.reserveCapacity(bytes.count / 250 + 1)
        do {
            try JSONPullParser.parse(bytes) { json in
                if try json.takeNull() { return }
                try json.object("tree") { json, key in
                    guard GoJSON.fold(key) == "nodes" else { return try json.skip() }
                    nodes.removeAll(keepingCapacity: true)  // not the reservation above
                    if try json.takeNull() { return }
                    try json.array("tree nodes") { nodes.append(try Node(decoding: &$0)) }
                }
            }
        } catch let error as LifeboatError where !error.message.hasPrefix("cannot decode") {
            throw LifeboatError(.corrupt, "cannot decode tree: \(error.message)")
        }
        self.init(nodes: nodes)
    }
}

extension Node {
    /// Writes this node as one JSON object in restic 0.14's field order.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("name"); w.string(GoQuote.quote(name))
        w.key("type"); w.string(type.rawValue)
        if mode != 0 { w.key("mode"); w.number(mode) }
        w.key("mtime"); w.timestamp(mtime)
        w.key("atime"); w.timestamp(atime)
        w.key("ctime"); w.timestamp(ctime)
        w.key("uid"); w.number(uid)
        w.key("gid"); w.number(gid)
        if let user, !user.isEmpty { w.key("user"); w.string(user) }
        if let group, !group.isEmpty { w.key("group"); w.string(group) }
        if let inode, inode != 0 { w.key("inode"); w.number(inode) }
        if let deviceID, deviceID != 0 { w.key("device_id"); w.number(deviceID) }
        if let size, size != 0 { w.key("size"); w.number(size) }
        if let links, links != 0 { w.key("links"); w.number(links) }
        // restic 0.14 knows only the string form, where invalid UTF-8 becomes U+FFFD; newer
        // restic and Lifeboat also read the exact bytes from linktarget_raw.
        if let linkTarget, !linkTarget.isEmpty {
            w.key("linktarget")
            w.string(utf8: linkTarget)
            if String(validating: linkTarget, as: UTF8.self) == nil {
                w.key("linktarget_raw")
                w.base64(linkTarget)
            }
        }
        if !extendedAttributes.isEmpty {
            w.key("extended_attributes")
            w.beginArray()
            for attribute in extendedAttributes {
                w.beginObject()
                w.key("name"); w.string(attribute.name)
                w.key("value"); w.base64(attribute.value)
                w.endObject()
            }
            w.endArray()
        }
        if let device, device != 0 { w.key("device"); w.number(device) }
        w.key("content")
        if let content {
            w.beginArray()
            for id in content { w.id(id) }
            w.endArray()
        } else {
            w.null()
        }
        if let subtree { w.key("subtree"); w.id(subtree) }
        if let error, !error.isEmpty { w.key("error"); w.string(error) }
        w.endObject()
    }

    /// Decodes one node object of a tree, with Go's tolerance: `null` leaves the zero value,
    /// keys match case-insensitively.
    init(decoding json: inout JSONPullParser) throws {
        if try json.takeNull() { throw LifeboatError(.corrupt, "cannot decode tree: a node is null") }
        // The fields live in one struct rather than in locals a closure captures: captured
        // locals are boxed and checked for exclusive access on every write.
        var fields = NodeFields()
        let table = NodeKey.table
        try json.object("tree node") { json, raw in
            guard let key = table.field(raw) else { return try json.skip() }
            try fields.read(key, from: &json)
        }
        try self.init(fields)
    }

    private init(_ f: NodeFields) throws {
        guard let kind = Kind(rawValue: f.typeName) else {
            throw LifeboatError(.corrupt, "tree node \"\(String(decoding: f.name, as: UTF8.self))\" has unknown type \"\(f.typeName)\"")
        }
        self.init(name: f.name, type: kind, mode: f.mode, mtime: f.mtime, atime: f.atime, ctime: f.ctime, uid: f.uid, gid: f.gid)
        user = f.user.isEmpty ? nil : f.user
        group = f.group.isEmpty ? nil : f.group
        inode = f.inode == 0 ? nil : f.inode
        deviceID = f.deviceID == 0 ? nil : f.deviceID
        size = f.size == 0 ? nil : f.size
        links = f.links == 0 ? nil : f.links
        // Newer restic writes the raw bytes when the target is not UTF-8; they win.
        let target = f.linkTargetRaw ?? f.linkTarget ?? []
        linkTarget = target.isEmpty ? nil : target
        extendedAttributes = f.attributes
        device = f.device == 0 ? nil : f.device
        content = f.content
        subtree = f.subtree
        error = f.error.isEmpty ? nil : f.error
    }
}

/// A node's fields as decoded, before the zero values become nil.
private struct NodeFields {
    var name: [UInt8] = []
    var typeName = ""
    var mode: UInt32 = 0
    var mtime = Timestamp.goZero, atime = Timestamp.goZero, ctime = Timestamp.goZero
    var uid: UInt32 = 0, gid: UInt32 = 0
    var user = "", group = ""
    var inode: UInt64 = 0, deviceID: UInt64 = 0, size: UInt64 = 0, links: UInt64 = 0, device: UInt64 = 0
    var linkTarget: [UInt8]? = nil
    var linkTargetRaw: [UInt8]? = nil
    var attributes: [Node.ExtendedAttribute] = []
    var content: [ID]? = nil
    var subtree: ID? = nil
    var error = ""

    mutating func read(_ key: NodeKey, from json: inout JSONPullParser) throws {
        switch key {
        case .name: name = try GoQuote.unquote(json.goString("node name"))
        case .type: typeName = try json.goString("node type")
        case .mode: mode = try json.goUInt32("node mode")
        case .mtime: mtime = try json.goTime("node mtime")
        case .atime: atime = try json.goTime("node atime")
        case .ctime: ctime = try json.goTime("node ctime")
        case .uid: uid = try json.goUInt32("node uid")
        case .gid: gid = try json.goUInt32("node gid")
        case .user: user = try json.goString("node user")
        case .group: group = try json.goString("node group")
        case .inode: inode = try json.goUnsigned("node inode")
        case .deviceID: deviceID = try json.goUnsigned("node device_id")
        case .size: size = try json.goUnsigned("node size")
        case .links: links = try json.goUnsigned("node links")
        case .linkTarget: linkTarget = Array(try json.goString("node linktarget").utf8)
        case .linkTargetRaw: linkTargetRaw = try json.takeNull() ? nil : try json.goBase64("node linktarget_raw")
        case .extendedAttributes: attributes = try Self.attributes(&json)
        case .device: device = try json.goUnsigned("node device")
        case .content:
            if try json.takeNull() { content = nil; return }
            var ids: [ID] = []
            try json.array("node content") { ids.append(try $0.id("node content")) }
            content = ids
        case .subtree: subtree = try json.takeNull() ? nil : try json.id("node subtree")
        case .error: error = try json.goString("node error")
        }
    }

    private static func attributes(_ json: inout JSONPullParser) throws -> [Node.ExtendedAttribute] {
        var attributes: [Node.ExtendedAttribute] = []
        if try json.takeNull() { return [] }
        try json.array("node extended_attributes") { json in
            var attribute = Node.ExtendedAttribute(name: "", value: [])
            if try json.takeNull() { attributes.append(attribute); return }
            try json.object("extended attribute") { json, key in
                switch GoJSON.fold(key) {
                case "name": attribute.name = try json.goString("extended attribute name")
                case "value": attribute.value = try json.goBase64("extended attribute value")
                default: try json.skip()
                }
            }
            attributes.append(attribute)
        }
        return attributes
    }
}

/// The keys of a tree node as restic writes them.
private enum NodeKey: String, CaseIterable {
    case name, type, mode, mtime, atime, ctime, uid, gid, user, group, inode, size, links, device, content, subtree, error
    case deviceID = "device_id", linkTarget = "linktarget", linkTargetRaw = "linktarget_raw"
    case extendedAttributes = "extended_attributes"

    static let table = GoJSON.FieldTable<NodeKey>()
}
