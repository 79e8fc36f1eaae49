import Testing
import LifeboatCore
import LifeboatRepository

@Suite struct FormatCodecTests {
    static let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
    static let c = String(repeating: "c", count: 64), d = String(repeating: "d", count: 64)
    static func id(_ hex: String) -> ID { ID(hex: hex)! }

    @Test func emptyTreeHasResticsID() {
        let bytes = Tree().encoded()
        #expect(bytes == Array("{\"nodes\":[]}\n".utf8))
        #expect(SHA256.hash(bytes).hex == "ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8")
    }

    @Test func nodeFieldOrderAndOmitempty() throws {
        let t = Timestamp(rfc3339: "2023-12-31T13:34:56.123456789+01:00")!
        var file = Node(name: Array("f".utf8), type: .file, mode: 420, mtime: t, atime: t, ctime: t, uid: 0, gid: 0)
        file.user = "root"; file.group = ""; file.inode = 5; file.deviceID = 7; file.size = 3; file.links = 2
        file.extendedAttributes = [.init(name: "user.x", value: [1, 2])]
        file.content = [Self.id(Self.a)]
        var dir = Node(name: Array("d".utf8), type: .dir, mtime: .epoch, atime: .epoch, ctime: .epoch, uid: 1, gid: 2)
        dir.subtree = Self.id(Self.b); dir.error = "boom"
        var link = Node(name: Array("l".utf8), type: .symlink, mode: 134_218_239)
        link.linkTarget = Array("x<y".utf8)
        var dev = Node(name: Array("z".utf8), type: .charDevice)
        dev.device = 259
        let json = String(decoding: Tree(nodes: [file, dir, link, dev]).encoded(), as: UTF8.self)
        let ts = #""mtime":"2023-12-31T13:34:56.123456789+01:00","atime":"2023-12-31T13:34:56.123456789+01:00","ctime":"2023-12-31T13:34:56.123456789+01:00""#
        let epoch = #""mtime":"1970-01-01T00:00:00Z","atime":"1970-01-01T00:00:00Z","ctime":"1970-01-01T00:00:00Z""#
        let expected = #"{"nodes":["#
            + #"{"name":"f","type":"file","mode":420,"# + ts + #","uid":0,"gid":0,"user":"root","inode":5,"device_id":7,"size":3,"links":2,"extended_attributes":[{"name":"user.x","value":"AQI="}],"content":[""# + Self.a + #""]},"#
            + #"{"name":"d","type":"dir","# + epoch + #","uid":1,"gid":2,"content":null,"subtree":""# + Self.b + #"","error":"boom"},"#
            + #"{"name":"l","type":"symlink","mode":134218239,"# + epoch + #","uid":0,"gid":0,"linktarget":"x\u003cy","content":null},"#
            + #"{"name":"z","type":"chardev","# + epoch + #","uid":0,"gid":0,"device":259,"content":null}"#
            + "]}\n"
        #expect(json == expected)
        let decoded = try Tree(decoding: Array(json.utf8))
        file.group = nil // an empty group is omitted, so it decodes as unknown
        #expect(decoded == Tree(nodes: [file, dir, link, dev]))
        #expect(decoded.nodes[0].mtime.utcOffset == 3600)
        #expect(decoded.encoded() == Array(json.utf8))
    }

    @Test func treeDecodingIsTolerant() throws {
        let raw = Base64.encode([0x62, 0xFF])
        let json = #"{"extra":1,"nodes":[{"Name":"n\\x01","type":"symlink","future":{"a":[1]},"linktarget":"b\ufffd","linktarget_raw":""# + raw + #""},{"name":"e","type":"file","content":null,"subtree":null}]}"#
        let tree = try Tree(decoding: Array(json.utf8))
        #expect(tree.nodes[0].name == [0x6E, 0x01])
        #expect(tree.nodes[0].linkTarget == [0x62, 0xFF])
        #expect(tree.nodes[0].mtime == .goZero)
        #expect(tree.nodes[0].content == nil)
        #expect(tree.nodes[1].content == nil && tree.nodes[1].subtree == nil)
        let escaped = #"{"nodes":[{"name":"t","type":"dir","MTIME":"2024\u002d01-02T03:04:05Z","uid":null}]}"#
        #expect(try Tree(decoding: Array(escaped.utf8)).nodes[0].mtime == Timestamp(rfc3339: "2024-01-02T03:04:05Z"))
        #expect(try Tree(decoding: Array(#"{"nodes":null}"#.utf8)).nodes.isEmpty)
        #expect(try Tree(decoding: Array("{}".utf8)).nodes.isEmpty)
    }

    @Test(arguments: [
        #"{"nodes":[{"name":"x","type":"door"}]}"#, #"{"nodes":[{"name":"x","type":"file","uid":-1}]}"#,
        #"{"nodes":[{"name":"x","type":"file","uid":4294967296}]}"#, #"{"nodes":[{"name":"x\\q","type":"file"}]}"#,
        #"{"nodes":[{"name":"x","type":"file","content":["abc"]}]}"#, #"{"nodes":[{"name":"x","type":"file","mtime":"yesterday"}]}"#,
        #"{"nodes":{}}"#, #"{"nodes":[]"#,
    ])
    func treeDecodingRejects(json: String) {
        #expect(throws: LifeboatError.self) { try Tree(decoding: Array(json.utf8)) }
    }

    @Test func snapshotRoundTrip() throws {
        let json = #"{"time":"2024-01-03T12:00:00+01:00","parent":""# + Self.a + #"","tree":""# + Self.b
            + #"","paths":["/tmp/lifeboat-fixture/src-restic-v2-repo"],"hostname":"lifeboat-fixture","username":"root","tags":["weekly","fixture-snap3"]}"#
        let snapshot = try Snapshot(decoding: Array(json.utf8))
        #expect(snapshot.parent == Self.id(Self.a) && snapshot.tree == Self.id(Self.b))
        #expect(snapshot.tags == ["weekly", "fixture-snap3"] && snapshot.excludes.isEmpty && snapshot.uid == nil)
        #expect(snapshot.encoded() == Array(json.utf8))

        var full = Snapshot(time: Timestamp(seconds: 1), tree: Self.id(Self.c), paths: ["/a", "/b"])
        full.hostname = "h"; full.username = "u"; full.uid = 1000; full.gid = 100; full.excludes = ["*.tmp"]
        full.original = Self.id(Self.d); full.programVersion = "lifeboat 0.1"
        var summary = SnapshotSummary(backupStart: Timestamp(seconds: 1), backupEnd: Timestamp(seconds: 2))
        summary.filesNew = 3; summary.totalBytesProcessed = 1 << 40
        full.summary = summary
        let text = String(decoding: full.encoded(), as: UTF8.self)
        #expect(text == #"{"time":"1970-01-01T00:00:01Z","tree":""# + Self.c + #"","paths":["/a","/b"],"hostname":"h","username":"u","uid":1000,"gid":100,"excludes":["*.tmp"],"original":""# + Self.d
            + #"","program_version":"lifeboat 0.1","summary":{"backup_start":"1970-01-01T00:00:01Z","backup_end":"1970-01-01T00:00:02Z","files_new":3,"files_changed":0,"files_unmodified":0,"dirs_new":0,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":0,"tree_blobs":0,"data_added":0,"data_added_packed":0,"total_files_processed":0,"total_bytes_processed":1099511627776}}"#)
        #expect(try Snapshot(decoding: full.encoded()) == full)
        #expect(throws: LifeboatError.self) { try Snapshot(decoding: Array(#"{"time":"2024-01-01T00:00:00Z"}"#.utf8)) }
    }

    @Test func indexRoundTripAndOldFormat() throws {
        let blobs = #"[{"id":""# + Self.b + #"","type":"tree","offset":0,"length":516,"uncompressed_length":1752},{"id":""# + Self.c + #"","type":"data","offset":516,"length":40}]"#
        let json = #"{"supersedes":[""# + Self.d + #""],"packs":[{"id":""# + Self.a + #"","blobs":"# + blobs + "}]}\n"
        let index = try IndexFile(decoding: Array(json.utf8))
        #expect(index.supersedes == [Self.id(Self.d)])
        #expect(index.packs.count == 1 && index.packs[0].blobs.count == 2)
        #expect(index.packs[0].blobs[0] == IndexFile.Blob(id: Self.id(Self.b), type: .tree, offset: 0, length: 516, uncompressedLength: 1752))
        #expect(index.packs[0].blobs[1].uncompressedLength == 0)
        #expect(index.encoded() == Array(json.utf8))

        var withoutSupersedes = index
        withoutSupersedes.supersedes = []
        #expect(String(decoding: withoutSupersedes.encoded(), as: UTF8.self).hasPrefix(#"{"packs":[{"id":"#))
        #expect(IndexFile().encoded() == Array("{\"packs\":[]}\n".utf8))

        let old = #"[{"id":""# + Self.a + #"","blobs":"# + blobs + "}]"
        #expect(try IndexFile(decoding: Array(old.utf8)) == IndexFile(packs: index.packs))
        #expect(throws: LifeboatError.self) {
            try IndexFile(decoding: Array(#"{"packs":[{"id":""#.utf8) + Array(Self.a.utf8) + Array(#"","blobs":[{"id":""#.utf8)
                          + Array(Self.b.utf8) + Array(#"","type":"parity"}]}]}"#.utf8))
        }
    }

    @Test func configKeyLockAndMasterKey() throws {
        let config = #"{"version":2,"id":"ec1d8d7f58721ec92f8481add3581e6686f38fb3bbd4bcd1452384765355d3b9","chunker_polynomial":"2e40c93f1b05e1"}"#
        let parsed = try RepositoryConfig(decoding: Array(config.utf8))
        #expect(parsed == RepositoryConfig(version: 2, id: "ec1d8d7f58721ec92f8481add3581e6686f38fb3bbd4bcd1452384765355d3b9", chunkerPolynomial: "2e40c93f1b05e1"))
        #expect(parsed.encoded() == Array(config.utf8))

        let lock = #"{"time":"2026-11-22T01:26:27.046688374Z","exclusive":false,"hostname":"vm","username":"root","pid":13760}"#
        let lockInfo = try LockInfo(decoding: Array(lock.utf8))
        #expect(lockInfo.pid == 13760 && !lockInfo.exclusive && lockInfo.uid == 0)
        #expect(lockInfo.encoded() == Array(lock.utf8))
        var exclusive = lockInfo
        exclusive.exclusive = true; exclusive.uid = 1; exclusive.gid = 2
        #expect(String(decoding: exclusive.encoded(), as: UTF8.self).hasSuffix(#""exclusive":true,"hostname":"vm","username":"root","pid":13760,"uid":1,"gid":2}"#))

        let master = #"{"mac":{"k":"uXkYmPSmJQ3JdBOjpK4jWA==","r":"Bs44AyhJKAIMlRMGQP4EBw=="},"encrypt":"954yg+mKmfCELKj9/KCGeRN6cLmB3qSgZ6aMpHZCLp0="}"#
        let key = try CryptoKey(masterKeyJSON: Array(master.utf8))
        #expect(key.masterKeyJSON() == Array(master.utf8))
        let zero16 = Base64.encode([UInt8](repeating: 0, count: 16)), zero32 = Base64.encode([UInt8](repeating: 0, count: 32))
        for bad in [#"{"mac":{"k":""# + zero16 + #"","r":""# + zero16 + #""},"encrypt":""# + zero32 + #""}"#,
                    #"{"mac":{"k":"uXkYmPSmJQ3JdBOjpK4jWA=="},"encrypt":"954yg+mKmfCELKj9/KCGeRN6cLmB3qSgZ6aMpHZCLp0="}"#,
                    #"{"mac":{"k":"AAAA","r":"Bs44AyhJKAIMlRMGQP4EBw=="},"encrypt":"954yg+mKmfCELKj9/KCGeRN6cLmB3qSgZ6aMpHZCLp0="}"#] {
            #expect(throws: LifeboatError.self) { try CryptoKey(masterKeyJSON: Array(bad.utf8)) }
        }

        let keyFile = KeyFile(created: Timestamp(seconds: 0, nanoseconds: 1), username: "u", hostname: "h",
                              n: 32768, r: 8, p: 4, salt: [UInt8](repeating: 7, count: 64), data: [1, 2, 3])
        let text = String(decoding: keyFile.encoded(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"created":"1970-01-01T00:00:00.000000001Z","username":"u","hostname":"h","kdf":"scrypt","N":32768,"r":8,"p":4,"salt":""#))
        #expect(text.hasSuffix(#"","data":"AQID"}"#))
        #expect(try KeyFile(decoding: keyFile.encoded()) == keyFile)
    }

    /// A large directory's nodes are decoded into one array sized from the JSON: growing it
    /// by doubling held two copies of the nodes at once (and ends far above the count).
    @Test func largeTreeDecodesIntoOneReservedArray() throws {
        let nodes = (0..<5_000).map { i in
            // What restic records for a file on Linux: ~330 bytes of JSON.
            let time = Timestamp(seconds: 1_700_000_000 + Int64(i), nanoseconds: 123_456_789)
            var node = Node(name: Array("file-\(i).txt".utf8), type: .file, mode: 0o644, mtime: time, atime: time, ctime: time,
                            uid: 1000, gid: 1000)
            (node.user, node.group, node.inode, node.deviceID, node.links) = ("user", "group", UInt64(i + 1), 2049, 1)
            node.size = UInt64(i)
            node.content = [SHA256.hash(Array("\(i)".utf8))]
            return node
        }
        let bytes = Tree(nodes: nodes).encoded()
        let decoded = try Tree(decoding: bytes)
        #expect(decoded.encoded() == bytes, "the decoded tree encodes to other bytes")
        let reserved = bytes.count / 250 + 1, capacity = decoded.nodes.capacity
        #expect(capacity >= reserved && capacity < reserved + 64,
                "capacity \(capacity) for \(nodes.count) nodes: the reservation of \(reserved) was not kept")
    }
}
