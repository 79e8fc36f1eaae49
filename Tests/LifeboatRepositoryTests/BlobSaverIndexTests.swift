import Testing
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

@Suite("index files of a backup")
struct BlobSaverIndexTests {
    @Test("an index file is written as soon as stored packs fill it; writeIndex names the rest and returns them all")
    func indexFilesAreWrittenDuringTheUploads() async throws {
        var template = Array("/tmp/lifeboat-index-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { _ = system("rm -rf '\(dir)'") }
        let repository = try await Repository.initialize(backend: LocalBackend(path: dir + "/repo"), password: Array("pw".utf8))
        // One blob per pack (any pack of 1 byte or more is full), three blobs per index file.
        let saver = BlobSaver(repository: repository, index: MasterIndex(), packSize: 1, indexFileBlobs: 3)
        let uploading = Task { try await saver.runUploads() }
        let blobs = (0..<10).map { Array("blob number \($0)".utf8) }
        try await blockingIO {
            let cipher = Cipher(key: repository.masterKey)
            for bytes in blobs {
                try bytes.withUnsafeBytes { _ = try saver.save(.data, id: SHA256.hash($0), plaintext: $0, cipher: cipher) }
            }
            try saver.flush(cipher: cipher)
            saver.finishInput()
        }
        try await uploading.value
        #expect(try await repository.backend.list(.index).count == 3, "three full index files before writeIndex")
        let ids = try await saver.writeIndex()
        #expect(ids.count == 4)
        #expect(Set(try await repository.backend.list(.index).map(\.name)) == Set(ids.map(\.hex)))
        let index = try await repository.loadIndex()
        for bytes in blobs { #expect(index.contains(SHA256.hash(bytes), type: .data)) }
    }
}
