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
    /// - Throws: `.corrupt` for invalid JSON, wrong field types, bad names or node types.
    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "tree")
        var nodes: [Node] = []
        for (key, value) in try GoJSON.members(json, "tree") where key == "nodes" {
            nodes = try (GoJSON.array(value, "tree nodes") ?? []).map { try Node(json: $0) }
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

    /// Decodes one node object of a tree.
    public init(json: JSONValue) throws {
        var name: [UInt8] = []
        var typeName = ""
        var mode: UInt32 = 0
        var mtime = Timestamp.goZero, atime = Timestamp.goZero, ctime = Timestamp.goZero
        var uid: UInt32 = 0, gid: UInt32 = 0
        var user = "", group = ""
        var inode: UInt64 = 0, deviceID: UInt64 = 0, size: UInt64 = 0, links: UInt64 = 0, device: UInt64 = 0
        var linkTarget: [UInt8]? = nil
        var linkTargetRaw: [UInt8]? = nil
        var attributes: [ExtendedAttribute] = []
        var content: [ID]? = nil
        var subtree: ID? = nil
        var error = ""
        for (key, value) in try GoJSON.members(json, "tree node") {
            switch key {
            case "name": name = try GoQuote.unquote(GoJSON.string(value, "node name"))
            case "type": typeName = try GoJSON.string(value, "node type")
            case "mode": mode = try GoJSON.uint32(value, "node mode")
            case "mtime": mtime = try GoJSON.time(value, "node mtime")
            case "atime": atime = try GoJSON.time(value, "node atime")
            case "ctime": ctime = try GoJSON.time(value, "node ctime")
            case "uid": uid = try GoJSON.uint32(value, "node uid")
            case "gid": gid = try GoJSON.uint32(value, "node gid")
            case "user": user = try GoJSON.string(value, "node user")
            case "group": group = try GoJSON.string(value, "node group")
            case "inode": inode = try GoJSON.uint64(value, "node inode")
            case "device_id": deviceID = try GoJSON.uint64(value, "node device_id")
            case "size": size = try GoJSON.uint64(value, "node size")
            case "links": links = try GoJSON.uint64(value, "node links")
            case "linktarget": linkTarget = Array(try GoJSON.string(value, "node linktarget").utf8)
            case "linktarget_raw": linkTargetRaw = value.isNull ? nil : try GoJSON.base64(value, "node linktarget_raw")
            case "extended_attributes":
                attributes = try (GoJSON.array(value, "node extended_attributes") ?? []).map { item in
                    var attribute = ExtendedAttribute(name: "", value: [])
                    for (k, v) in try GoJSON.members(item, "extended attribute") {
                        if k == "name" { attribute.name = try GoJSON.string(v, "extended attribute name") }
                        if k == "value" { attribute.value = try GoJSON.base64(v, "extended attribute value") }
                    }
                    return attribute
                }
            case "device": device = try GoJSON.uint64(value, "node device")
            case "content": content = try GoJSON.ids(value, "node content")
            case "subtree": subtree = try GoJSON.id(value, "node subtree")
            case "error": error = try GoJSON.string(value, "node error")
            default: break
            }
        }
        guard let kind = Kind(rawValue: typeName) else {
            throw LifeboatError(.corrupt, "tree node \"\(String(decoding: name, as: UTF8.self))\" has unknown type \"\(typeName)\"")
        }
        self.init(name: name, type: kind, mode: mode, mtime: mtime, atime: atime, ctime: ctime, uid: uid, gid: gid)
        self.user = user.isEmpty ? nil : user
        self.group = group.isEmpty ? nil : group
        self.inode = inode == 0 ? nil : inode
        self.deviceID = deviceID == 0 ? nil : deviceID
        self.size = size == 0 ? nil : size
        self.links = links == 0 ? nil : links
        // Newer restic writes the raw bytes when the target is not UTF-8; they win.
        let target = linkTargetRaw ?? linkTarget ?? []
        self.linkTarget = target.isEmpty ? nil : target
        self.extendedAttributes = attributes
        self.device = device == 0 ? nil : device
        self.content = content
        self.subtree = subtree
        self.error = error.isEmpty ? nil : error
    }
}
