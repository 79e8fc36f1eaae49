public import LifeboatCore

/// The small JSON documents: `config`, key files, locks and the master key. None ends
/// with a newline (RESTIC-V2-FORMAT.md §7.6).
extension RepositoryConfig {
    /// `{"version":2,"id":"…","chunker_polynomial":"…"}`
    public func encoded() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("version"); w.number(version)
        w.key("id"); w.string(id)
        w.key("chunker_polynomial"); w.string(chunkerPolynomial)
        w.endObject()
        return w.bytes
    }

    /// Decodes the config JSON. The version is not checked here; the opener refuses
    /// versions it does not know.
    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "config")
        var version: Int64 = 0, id = "", polynomial = ""
        for (key, value) in try GoJSON.members(json, "config") {
            switch key {
            case "version": version = try GoJSON.int64(value, "config version")
            case "id": id = try GoJSON.string(value, "config id")
            case "chunker_polynomial": polynomial = try GoJSON.string(value, "config chunker_polynomial")
            default: break
            }
        }
        self.init(version: Int(version), id: id, chunkerPolynomial: polynomial)
    }
}

extension KeyFile {
    /// Fields `created, username, hostname, kdf, N, r, p, salt, data`; byte arrays base64.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("created"); w.timestamp(created)
        w.key("username"); w.string(username)
        w.key("hostname"); w.string(hostname)
        w.key("kdf"); w.string(kdf)
        w.key("N"); w.number(n)
        w.key("r"); w.number(r)
        w.key("p"); w.number(p)
        w.key("salt"); w.base64(salt)
        w.key("data"); w.base64(data)
        w.endObject()
        return w.bytes
    }

    /// Decodes a key file. Parameters are not judged here (`Scrypt.derive` does that).
    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "key file")
        var created = Timestamp.goZero
        var username = "", hostname = "", kdf = ""
        var n: UInt64 = 0, r: UInt64 = 0, p: UInt64 = 0
        var salt: [UInt8] = [], data: [UInt8] = []
        // Keys are folded to lowercase, so "N" arrives as "n".
        for (key, value) in try GoJSON.members(json, "key file") {
            switch key {
            case "created": created = try GoJSON.time(value, "key file created")
            case "username": username = try GoJSON.string(value, "key file username")
            case "hostname": hostname = try GoJSON.string(value, "key file hostname")
            case "kdf": kdf = try GoJSON.string(value, "key file kdf")
            case "n": n = try GoJSON.uint64(value, "key file N")
            case "r": r = try GoJSON.uint64(value, "key file r")
            case "p": p = try GoJSON.uint64(value, "key file p")
            case "salt": salt = try GoJSON.base64(value, "key file salt")
            case "data": data = try GoJSON.base64(value, "key file data")
            default: break
            }
        }
        self.init(created: created, username: username, hostname: hostname, kdf: kdf,
                  n: n, r: r, p: p, salt: salt, data: data)
    }
}

extension LockInfo {
    /// Fields `time, exclusive, hostname, username, pid, uid?, gid?`.
    public func encoded() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("time"); w.timestamp(time)
        w.key("exclusive"); w.bool(exclusive)
        w.key("hostname"); w.string(hostname)
        w.key("username"); w.string(username)
        w.key("pid"); w.number(pid)
        if uid != 0 { w.key("uid"); w.number(uid) }
        if gid != 0 { w.key("gid"); w.number(gid) }
        w.endObject()
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "lock")
        var time = Timestamp.goZero
        var exclusive = false
        var hostname = "", username = ""
        var pid: Int64 = 0
        var uid: UInt32 = 0, gid: UInt32 = 0
        for (key, value) in try GoJSON.members(json, "lock") {
            switch key {
            case "time": time = try GoJSON.time(value, "lock time")
            case "exclusive": exclusive = try GoJSON.bool(value, "lock exclusive")
            case "hostname": hostname = try GoJSON.string(value, "lock hostname")
            case "username": username = try GoJSON.string(value, "lock username")
            case "pid": pid = try GoJSON.int64(value, "lock pid")
            case "uid": uid = try GoJSON.uint32(value, "lock uid")
            case "gid": gid = try GoJSON.uint32(value, "lock gid")
            default: break
            }
        }
        guard let pid32 = Int32(exactly: pid) else { throw LifeboatError(.corrupt, "lock pid \(pid) is out of range") }
        self.init(time: time, exclusive: exclusive, hostname: hostname, username: username, pid: pid32, uid: uid, gid: gid)
    }
}

extension CryptoKey {
    /// `{"mac":{"k":"…","r":"…"},"encrypt":"…"}`: the plaintext inside a key file's `data`.
    public func masterKeyJSON() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("mac")
        w.beginObject()
        w.key("k"); w.base64(macK)
        w.key("r"); w.base64(macR)
        w.endObject()
        w.key("encrypt"); w.base64(encrypt)
        w.endObject()
        return w.bytes
    }

    /// Decodes and validates master-key JSON.
    /// - Throws: `.corrupt` for wrong part lengths (16/16/32) or an all-zero key.
    public init(masterKeyJSON bytes: [UInt8]) throws {
        let json = try GoJSON.parse(bytes, "master key")
        var k: [UInt8] = [], r: [UInt8] = [], encrypt: [UInt8] = []
        for (key, value) in try GoJSON.members(json, "master key") {
            switch key {
            case "mac":
                for (macKey, macValue) in try GoJSON.members(value, "master key mac") {
                    if macKey == "k" { k = try GoJSON.base64(macValue, "master key mac.k") }
                    if macKey == "r" { r = try GoJSON.base64(macValue, "master key mac.r") }
                }
            case "encrypt": encrypt = try GoJSON.base64(value, "master key encrypt")
            default: break
            }
        }
        guard k.count == 16, r.count == 16, encrypt.count == 32 else {
            throw LifeboatError(.corrupt, "master key has parts of \(k.count)/\(r.count)/\(encrypt.count) bytes, expected 16/16/32")
        }
        let key = CryptoKey(encrypt: encrypt, macK: k, macR: r)
        guard key.isValid else { throw LifeboatError(.corrupt, "master key is all zero") }
        self = key
    }
}
