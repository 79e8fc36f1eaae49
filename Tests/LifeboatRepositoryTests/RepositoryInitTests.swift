import Testing
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RepositoryInitTests {
    private func scratch() -> String {
        var template = Array("/tmp/lifeboat-init-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return path + "/repo"
    }

    @Test func keepsAGivenChunkerPolynomial() async throws {
        let path = scratch()
        defer { _ = system("rm -rf '\(path)/..'") }
        let repository = try await Repository.initialize(backend: LocalBackend(path: path), password: Array("pw".utf8),
                                                         chunkerPolynomial: Polynomial(hex: "2e40c93f1b05e1"))
        #expect(repository.config.chunkerPolynomial == "2e40c93f1b05e1")
        let reopened = try await Repository.open(backend: LocalBackend(path: path), password: Array("pw".utf8))
        #expect(reopened.config == repository.config)
    }

    @Test func refusesAReduciblePolynomial() async throws {
        let path = scratch()
        defer { _ = system("rm -rf '\(path)/..'") }
        await #expect(throws: LifeboatError.self) {
            try await Repository.initialize(backend: LocalBackend(path: path), password: Array("pw".utf8),
                                            chunkerPolynomial: Polynomial(1 << 53 | 1))
        }
    }
}
