import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Python HTTP/1.1 server on 127.0.0.1 that echoes requests back: the method, the path,
/// the request headers (as `x-echo-<name>`) and the body. `/status/N` answers N with a
/// short body; `/stream/N` sends N bytes of a repeating pattern.
final class EchoServer {
    let process = Process()
    let port: Int

    static let script = #"""
import sys, http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2]); out = b"<Error>status %d</Error>" % code
        elif self.path.startswith("/stream/"):
            code = 200; size = int(self.path.split("/")[2])
            out = bytes(i % 251 for i in range(size))
        else:
            code = 200; out = body
        self.send_response(code)
        self.send_header("X-Echo-Method", self.command)
        self.send_header("X-Echo-Path", self.path)
        for k, v in self.headers.items():
            self.send_header("X-Echo-" + k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(out)
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = reply
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""#

    init() throws {
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script]
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        self.port = port
    }

    var base: String { "http://127.0.0.1:\(port)" }

    // Not Process.waitUntilExit: it spins a run loop and can deadlock the test's
    // cooperative threads on a 2-core machine.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(process.processIdentifier, &status, 0)
    }
}
