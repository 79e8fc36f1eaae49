import Foundation
import Testing
import LifeboatCore
@testable import LifeboatEtcd

/// The gateway stream and etcdctl file captured from etcd 3.4.23 (shared/testdata/etcd/samples).
enum Samples {
    static let directory: String = {
        if let shared = ProcessInfo.processInfo.environment["LIFEBOAT_SHARED"] ?? ProcessInfo.processInfo.environment["SHARED_DIR"],
           !shared.isEmpty {
            return shared + "/testdata/etcd/samples"
        }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/../shared/testdata/etcd/samples"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
            throw SampleMissing(path: directory + "/" + name)
        }
        return Array(data)
    }

    struct SampleMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "etcd sample \(path) is missing (set LIFEBOAT_SHARED to the shared folder)" }
    }
}

/// Decodes `stream` fed in pieces of the given sizes (cycled).
func decode(_ stream: [UInt8], pieces: [Int]) throws -> [UInt8] {
    var decoder = SnapshotStreamDecoder()
    var out: [UInt8] = []
    var offset = 0, i = 0
    while offset < stream.count {
        let n = min(pieces[i % pieces.count], stream.count - offset)
        try stream[offset..<offset + n].withUnsafeBytes { try decoder.push($0) { out.append(contentsOf: $0) } }
        offset += n
        i += 1
    }
    try decoder.finish { out.append(contentsOf: $0) }
    return out
}

func verify(_ bytes: [UInt8], _ what: String = "test") throws -> (sha256: ID, databaseSize: UInt64) {
    let verifier = SnapshotTrailerVerifier()
    var offset = 0
    for piece in [1, 31, 32, 33, 4096, 100_000].cycled() {
        guard offset < bytes.count else { break }
        let n = min(piece, bytes.count - offset)
        bytes[offset..<offset + n].withUnsafeBytes { verifier.update($0) }
        offset += n
    }
    return try verifier.finish(what)
}

func decodeBase64(_ text: String, into out: inout [UInt8]) throws {
    var text = text
    try text.withUTF8 { try Base64Decoder.decode(UnsafeRawBufferPointer($0), into: &out) }
}

extension Array {
    func cycled() -> UnfoldSequence<Element, Int> {
        sequence(state: 0) { i in defer { i += 1 }; return self[i % count] }
    }
}

@Suite struct SnapshotStreamTests {
    @Test(arguments: [[1 << 20], [1], [7, 4093, 65_536], [44_000]])
    func gatewayStreamDecodesToTheEtcdctlFile(pieces: [Int]) throws {
        let stream = try Samples.bytes("snapshot-gateway-stream.ndjson")
        let file = try Samples.bytes("snapshot-etcdctl.db")
        let decoded = try decode(stream, pieces: pieces)
        #expect(decoded.count == 143_392)
        #expect(decoded == file)
    }

    @Test func trailerOfTheSampleVerifies() throws {
        let file = try Samples.bytes("snapshot-etcdctl.db")
        let (sha, size) = try verify(file)
        #expect(size == 143_360)
        #expect(sha.hex == "942647ff21bbd7eea59d0d7522a1a28a84839857d232bf6b1ce708438ee0dbc2")
        #expect(SHA256.hash(Array(file.dropLast(32))) == sha)
    }

    @Test func flippedByteFailsTheTrailerCheck() throws {
        var file = try Samples.bytes("snapshot-etcdctl.db")
        file[70_000] ^= 0x01
        #expect { try verify(file) } throws: { ($0 as? LifeboatError)?.message.contains("fails its SHA-256 check") == true }
        var trailer = try Samples.bytes("snapshot-etcdctl.db")
        trailer[trailer.count - 1] ^= 0x80
        #expect { try verify(trailer) } throws: { ($0 as? LifeboatError)?.code == .corrupt }
    }

    @Test func bareDatabaseIsRecognised() throws {
        let file = try Samples.bytes("snapshot-etcdctl.db")
        #expect { try verify(Array(file.dropLast(32))) } throws: { ($0 as? LifeboatError)?.message.contains("no SHA-256 trailer") == true }
    }

    @Test func streamCutAtAnyLineFails() throws {
        let stream = try Samples.bytes("snapshot-gateway-stream.ndjson")
        let lineEnds = stream.indices.filter { stream[$0] == 0x0A }
        #expect(lineEnds.count == 6)
        // Cut after each complete line but the last, and in the middle of each line.
        for end in lineEnds.dropLast() {
            #expect(throws: LifeboatError.self) { try decode(Array(stream[...end]), pieces: [65_536]) }
            #expect(throws: LifeboatError.self) { try decode(Array(stream[..<(end - 1000)]), pieces: [65_536]) }
        }
        #expect(throws: LifeboatError.self) { try decode(Array(stream.dropLast(10)), pieces: [65_536]) }
    }

    @Test func errorMessageInTheStreamFails() throws {
        // As etcd 3.4 answers a snapshot without a token when authentication is on (observed).
        let body = Array(#"{"error":{"grpc_code":2,"http_code":500,"message":"auth: user name is empty","http_status":"Internal Server Error"}}"#.utf8) + [0x0A]
        #expect { try decode(body, pieces: [100]) } throws: {
            let e = $0 as? LifeboatError
            return e?.message.contains("auth: user name is empty") == true && e?.hint?.contains("--user") == true
        }
    }

    @Test func extraMessageAfterTheTrailerFails() throws {
        let stream = try Samples.bytes("snapshot-gateway-stream.ndjson")
        let lines = stream.split(separator: 0x0A, omittingEmptySubsequences: true)
        var doubled = stream
        doubled += Array(lines.last!)
        doubled.append(0x0A)
        #expect(throws: LifeboatError.self) { try decode(doubled, pieces: [65_536]) }
    }

    @Test func inconsistentRemainingBytesFails() throws {
        let stream = try Samples.bytes("snapshot-gateway-stream.ndjson")
        var lines: [[UInt8]] = stream.split(separator: 0x0A).map { Array($0) }
        lines.remove(at: 1)  // a lost message
        let body: [UInt8] = lines.flatMap { line -> [UInt8] in line + [0x0A] }
        #expect { try decode(body, pieces: [65_536]) } throws: { ($0 as? LifeboatError)?.message.contains("inconsistent") == true }
    }

    @Test func base64DecoderMatchesCore() throws {
        var out: [UInt8] = []
        for n in 0..<70 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            try decodeBase64(Base64.encode(bytes), into: &out)
            #expect(out == bytes)
        }
        for bad in ["AB=C", "ABC", "AB*D", "A===", "AAAAAB=C"] {
            #expect(throws: LifeboatError.self) { try decodeBase64(bad, into: &out) }
        }
    }

    @Test func otherLayoutsDecodeLikeEtcdsOwn() throws {
        // Reordered fields, spaces and numbers instead of strings take the general JSON path.
        let stream = try Samples.bytes("snapshot-gateway-stream.ndjson")
        var rewritten: [UInt8] = []
        for line in stream.split(separator: 0x0A) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            var result = try #require(object["result"] as? [String: Any])
            if let text = result["remaining_bytes"] as? String { result["remaining_bytes"] = Int(text) }
            let data = try JSONSerialization.data(withJSONObject: ["header": ["revision": "28"], "result": result], options: [.sortedKeys, .prettyPrinted])
            rewritten += Array(data).filter { $0 != 0x0A } + [0x0A]
        }
        #expect(try decode(rewritten, pieces: [3000]) == (try Samples.bytes("snapshot-etcdctl.db")))
    }

    @Test func infoRoundTrips() throws {
        var info = EtcdSnapshotInfo(name: "prod", source: "endpoint", origin: "https://10.0.0.1:2379",
                                    takenAt: Timestamp(rfc3339: "2026-11-22T07:00:00.5Z")!, size: 143_392,
                                    databaseSize: 143_360, sha256: ID(hex: "942647ff21bbd7eea59d0d7522a1a28a84839857d232bf6b1ce708438ee0dbc2")!)
        info.clusterID = 0xb3ad_5c1c_63e1_f0a5
        info.memberID = 0xd84f_7a4b_ce8a_9e2d
        info.memberName = "cp-1"
        info.revision = 205
        info.raftTerm = 2
        info.etcdVersion = "3.4.23"
        info.wasLeader = true
        #expect(try EtcdSnapshotInfo(decoding: info.encoded()) == info)
        #expect(info.tags == ["etcd", "etcd-revision=205"])
    }
}
