import Foundation
import Testing

/// `--compression` (restic's modes): what each mode stores, and that restic reads it.
@Suite("--compression modes")
struct CompressionModeTests {
    /// 3 MiB of log-like text and 512 KiB of random bytes, the same in every workspace.
    static func writeSource(_ w: CLIWorkspace) throws {
        var text = ""
        for i in 0..<40_000 {
            text += "{\"level\":\"info\",\"seq\":\(i),\"msg\":\"request served\",\"path\":\"/api/v1/items/\(i % 977)\"}\n"
        }
        try w.write("logs/app.log", text)
        var random = CLISeededBytes(seed: 7)
        try w.write("blob.bin", random.bytes(512 << 10))
    }

    /// Bytes of the source files.
    static func sourceBytes(_ w: CLIWorkspace) -> Int {
        ["logs/app.log", "blob.bin"].reduce(0) { $0 + (w.read(w.path($1))?.count ?? 0) }
    }

    static func dataBytes(_ w: CLIWorkspace) throws -> Int {
        try w.repoFiles("data").reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }

    @Test("off stores blobs uncompressed, auto and max compress; restic checks and restores all three bit for bit")
    func modesStoreWhatTheySay() throws {
        var sizes: [String: Int] = [:]
        var plaintext = 0
        for mode in ["off", "auto", "max"] {
            let w = try CLIWorkspace()
            try Self.writeSource(w)
            try w.initialize()
            try w.ok(["--compression", mode, "backup", "."])
            sizes[mode] = try Self.dataBytes(w)
            plaintext = Self.sourceBytes(w)

            let restic = try Restic(repository: w.repo, password: w.password)
            let check = try restic.run(["check", "--read-data"])
            #expect(check.isSpotlessCheck, "restic check --read-data after --compression \(mode): \(check)")
            let target = w.path("restic-restore")
            _ = try restic.check(["restore", "latest", "--target", target])
            let restored = CLIWorkspace.hashTree(target)
            let original = CLIWorkspace.hashTree(w.source)
            #expect(original.count == 3 && restored == original,
                    "restic's restore of the --compression \(mode) snapshot differs from the source")
        }
        let off = try #require(sizes["off"]), auto = try #require(sizes["auto"]), max = try #require(sizes["max"])
        #expect(off > plaintext, "--compression off stored \(off) bytes for ~\(plaintext) bytes of data: something was compressed")
        #expect(auto < off / 2, "--compression auto stored \(auto) bytes, off \(off): the text was not compressed")
        #expect(max <= auto, "--compression max stored \(max) bytes, more than auto's \(auto)")
    }

    @Test("k8s backup follows --compression too")
    func kubernetesBackupFollowsTheMode() throws {
        var sizes: [String: Int] = [:]
        for mode in ["off", "auto"] {
            let w = try CLIWorkspace()
            let payload = String(repeating: "replica-set rolled out, 3 of 3 pods ready; ", count: 600)
            try w.write("manifests/big.yaml", """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: big
                  namespace: default
                data:
                  payload: "\(payload)"
                """)
            try w.initialize()
            let r = try w.lifeboat(["--compression", mode, "k8s", "backup", "--from-dir", w.source + "/manifests", "--cluster-name", "c"])
            try #require(r.status == 0, "\(r.summary)")
            sizes[mode] = try Self.dataBytes(w)
            let check = try Restic(repository: w.repo, password: w.password).run(["check", "--read-data"])
            #expect(check.isSpotlessCheck, "restic check --read-data after k8s backup --compression \(mode): \(check)")
        }
        let off = try #require(sizes["off"]), auto = try #require(sizes["auto"])
        #expect(off > 25_000 && auto < off / 4, "k8s backup stored \(off) bytes with off, \(auto) with auto")
    }

    @Test("the environment sets the mode; an unknown mode fails before anything is written")
    func environmentAndBadMode() throws {
        let w = try CLIWorkspace()
        try Self.writeSource(w)
        try w.initialize()
        let bad = try w.lifeboat(["--compression", "zip", "backup", "."])
        expectCLIFailure(bad, code: 1, mentions: ["compression", "zip", "fastest"])
        #expect(w.repoFiles("snapshots").isEmpty && w.repoFiles("data").isEmpty, "a refused backup wrote to the repository")

        try w.ok(["backup", "."], environment: w.env.merging(["LIFEBOAT_COMPRESSION": "off"]) { $1 })
        #expect(try Self.dataBytes(w) > Self.sourceBytes(w), "LIFEBOAT_COMPRESSION=off was ignored")
        let badEnv = try w.lifeboat(["backup", "."], environment: w.env.merging(["LIFEBOAT_COMPRESSION": "best"]) { $1 })
        expectCLIFailure(badEnv, code: 1, mentions: ["best"])
    }
}
