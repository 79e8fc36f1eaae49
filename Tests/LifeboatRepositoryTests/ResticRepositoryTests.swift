import Foundation
import Testing
import LifeboatCore
import LifeboatRepository

/// Reads whole repositories written by restic 0.14 and checks that every codec decodes
/// them and re-encodes them byte for byte.
@Suite struct ResticRepositoryTests {
    static let repositories: [(name: String, version: Int)] = [("restic-v2-repo", 2), ("restic-v1-repo", 1)]

    @Test(arguments: repositories)
    func decodesAndReencodesEverything(name: String, version: Int) throws {
        let repo = try ResticFixture(name)
        defer { repo.remove() }

        // config: raw JSON, never compressed.
        let configJSON = try repo.cipher.open(repo.read("config"))
        let config = try RepositoryConfig(decoding: configJSON)
        #expect(config.version == version)
        #expect(config.encoded() == configJSON)

        // index files: the name is the hash of the stored bytes; JSON re-encodes exactly.
        var packBlobs: [ID: [IndexFile.Blob]] = [:]
        let indexNames = try repo.list("index")
        #expect(!indexNames.isEmpty)
        for path in indexNames {
            #expect(SHA256.hash(try repo.read(path)).hex == URL(fileURLWithPath: path).lastPathComponent)
            let json = try repo.openUnpacked(path, version: version)
            let index = try IndexFile(decoding: json)
            #expect(index.encoded() == json, "index \(path) re-encodes differently")
            for pack in index.packs { packBlobs[pack.id, default: []].append(contentsOf: pack.blobs) }
        }

        // packs: header matches the index; every blob opens and hashes to its ID; trees
        // decode and re-encode to the same ID.
        let packNames = try repo.list("data")
        #expect(packNames.count == packBlobs.count)
        let decompressor = ZstdDecompressor()
        var treeIDs: Set<ID> = []
        var treeCount = 0
        for path in packNames {
            let file = try repo.read(path)
            let packID = try #require(ID(hex: URL(fileURLWithPath: path).lastPathComponent))
            #expect(SHA256.hash(file) == packID)
            let headerLength = file.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
            let headerStart = file.count - 4 - headerLength
            let entries = try PackHeader.decode(repo.cipher.open(Array(file[headerStart..<file.count - 4])))
            let indexed = try #require(packBlobs[packID], "pack \(path) is in no index")
            #expect(entries.count == indexed.count)
            #expect(entries.reduce(0) { $0 + Int($1.length) } == headerStart)
            for entry in entries {
                let blob = indexed.first { $0.id == entry.id && $0.type == entry.type }
                #expect(blob?.offset == entry.offset && blob?.length == entry.length
                        && blob?.uncompressedLength == entry.uncompressedLength,
                        "header entry \(entry.id.short) of \(path) differs from the index")
                let sealed = file[Int(entry.offset)..<Int(entry.offset + entry.length)]
                var plaintext = try repo.cipher.open(Array(sealed))
                if entry.uncompressedLength != 0 {
                    plaintext = try plaintext.withUnsafeBytes {
                        try decompressor.decompress($0, expectedSize: Int(entry.uncompressedLength))
                    }
                }
                #expect(SHA256.hash(plaintext) == entry.id)
                guard entry.type == .tree else { continue }
                let tree = try Tree(decoding: plaintext)
                let reencoded = tree.encoded()
                #expect(SHA256.hash(reencoded) == entry.id,
                        "tree \(entry.id.short) re-encodes differently:\n\(String(decoding: plaintext, as: UTF8.self))\n\(String(decoding: reencoded, as: UTF8.self))")
                treeIDs.insert(entry.id)
                treeCount += 1
            }
            // PackHeader.encode reproduces the stored plaintext header.
            let headerPlain = try repo.cipher.open(Array(file[headerStart..<file.count - 4]))
            #expect(PackHeader.encode(entries) == headerPlain)
        }
        #expect(treeCount > 0)

        // snapshots: decode, re-encode exactly, and name a stored tree.
        let snapshotNames = try repo.list("snapshots")
        #expect(!snapshotNames.isEmpty)
        for path in snapshotNames {
            let json = try repo.openUnpacked(path, version: version)
            let snapshot = try Snapshot(decoding: json)
            #expect(snapshot.encoded() == json, "snapshot \(path) re-encodes differently")
            #expect(treeIDs.contains(snapshot.tree))
            #expect(!snapshot.paths.isEmpty)
        }

        // locks, if any were left behind.
        for path in try repo.list("locks") {
            let json = try repo.openUnpacked(path, version: version)
            #expect(try LockInfo(decoding: json).encoded() == json)
        }
    }

    @Test(arguments: [("3c5222a0d96f68c99b50eb151b2011d80433e2493017429b9ca7b1dd3a7cb97d", "lifeboat-test", UInt64(8)),
                      ("9c8641a627609bccc88d6ea589bb3f1984fbabf0179ebc3c9d5f277c80d36133", "lifeboat-test-2nd-key", 5)])
    func opensKeyFileWithPassword(name: String, password: String, p: UInt64) throws {
        let repo = try ResticFixture("restic-v2-repo")
        defer { repo.remove() }
        let bytes = try repo.read("keys/\(name)")
        let keyFile = try KeyFile(decoding: bytes)
        #expect(keyFile.kdf == "scrypt")
        #expect(keyFile.n == 32768 && keyFile.r == 8 && keyFile.p == p)
        #expect(keyFile.salt.count == 64)
        // Byte-identical re-encoding reproduces the file name.
        #expect(keyFile.encoded() == bytes)
        #expect(SHA256.hash(keyFile.encoded()).hex == name)

        let derived = try Scrypt.derive(password: Array(password.utf8), salt: keyFile.salt,
                                        n: keyFile.n, r: keyFile.r, p: keyFile.p)
        let masterJSON = try Cipher(key: CryptoKey(derived: derived)).open(keyFile.data)
        let master = try CryptoKey(masterKeyJSON: masterJSON)
        #expect(master == repo.masterKey)
        #expect(master.masterKeyJSON() == masterJSON)

        // Another password fails the MAC (how an opener skips to the next key file).
        let wrong = try Scrypt.derive(password: Array("\(password)!".utf8), salt: keyFile.salt,
                                      n: keyFile.n, r: keyFile.r, p: keyFile.p)
        #expect(throws: LifeboatError.self) { try Cipher(key: CryptoKey(derived: wrong)).open(keyFile.data) }
    }
}
