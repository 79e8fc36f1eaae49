import Foundation
import Testing
import LifeboatCore
@testable import LifeboatHTTP

@Suite struct HTTPClientTests {
    let server: EchoServer
    let client = HTTPClient()

    init() throws { server = try EchoServer() }

    @Test func putSendsBodyAndHeadersAndGetsThemBack() throws {
        let body = (0..<300_000).map { UInt8($0 % 256) }
        let response = try client.perform(HTTPRequest(
            method: "PUT", url: server.base + "/a/b?x=1",
            headers: [HTTPHeader("X-Test", "one"), HTTPHeader("Content-Type", "text/plain")],
            body: .bytes(body)))
        #expect(response.status == 200)
        #expect(response.body == body)
        #expect(response.header("x-echo-method") == "PUT")
        #expect(response.header("X-Echo-Path") == "/a/b?x=1")
        #expect(response.header("x-echo-x-test") == "one")
        #expect(response.header("x-echo-content-type") == "text/plain")
        #expect(response.header("x-echo-expect") == nil)
    }

    @Test func fileBodyIsReadFromTheGivenRange() throws {
        let path = NSTemporaryDirectory() + "lifeboat-http-\(UUID().uuidString)"
        let content = Array("0123456789abcdefghij".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(content))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let response = try client.perform(HTTPRequest(method: "POST", url: server.base + "/f",
                                                      body: .file(path: path, offset: 5, length: 10)))
        #expect(response.body == Array("56789abcde".utf8))
    }

    @Test func streamedBodyArrivesInPiecesWithoutBuffering() throws {
        var received: [UInt8] = []
        var pieces = 0
        let response = try client.perform(HTTPRequest(method: "GET", url: server.base + "/stream/5000000")) { chunk in
            received.append(contentsOf: chunk)
            pieces += 1
        }
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(received.count == 5_000_000)
        #expect(received == (0..<5_000_000).map { UInt8($0 % 251) })
        #expect(pieces > 1)
    }

    @Test func errorStatusCollectsTheBodyInsteadOfStreaming() throws {
        var streamed = 0
        let response = try client.perform(HTTPRequest(method: "GET", url: server.base + "/status/404")) { streamed += $0.count }
        #expect(response.status == 404)
        #expect(streamed == 0)
        #expect(response.bodyText == "<Error>status 404</Error>")
    }

    @Test func headHasNoBody() throws {
        let response = try client.perform(HTTPRequest(method: "HEAD", url: server.base + "/stream/1234"))
        #expect(response.status == 200)
        #expect(response.header("content-length") == "1234")
        #expect(response.body.isEmpty)
    }

    @Test func handlerErrorStopsTheTransferAndIsRethrown() throws {
        struct Enough: Error {}
        #expect(throws: Enough.self) {
            _ = try client.perform(HTTPRequest(method: "GET", url: server.base + "/stream/10000000")) { _ in throw Enough() }
        }
        // The pooled handle still works afterwards.
        #expect(try client.perform(HTTPRequest(method: "GET", url: server.base + "/stream/10")).body.count == 10)
    }

    @Test func refusedConnectionIsATransientTransportError() throws {
        // Port 1 on loopback: nothing listens there.
        do {
            _ = try client.perform(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/x?secret=1"))
            Issue.record("expected a transport error")
        } catch let error as HTTPTransportError {
            #expect(error.code == 7)
            #expect(error.isTransient)
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func concurrentRequestsShareThePool() async throws {
        let client = self.client, base = server.base
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let r = try await client.send(HTTPRequest(method: "PUT", url: base + "/c",
                                                              body: .bytes(Array(repeating: UInt8(i), count: 1000 + i))))
                    return r.body.count
                }
            }
            var total = 0
            for try await n in group { total += n }
            #expect(total == 16 * 1000 + (0..<16).reduce(0, +))
        }
    }

    @Test func percentEncodingFollowsRFC3986() {
        #expect(percentEncode("a b/c~d_e.f-g*h+") == "a%20b%2Fc~d_e.f-g%2Ah%2B")
        #expect(percentEncode("dir/ü", keepSlash: true) == "dir/%C3%BC")
        #expect(percentDecode("a%20b%2fc%ZZ") == "a b/c%ZZ")
    }
}
