/// One header line. Names keep the caller's spelling in requests; responses lower-case them.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a request sends. Files are read with `pread`, so a retry re-reads from disk
/// instead of holding a pack in memory.
public enum HTTPBody: Sendable {
    case empty
    case bytes([UInt8])
    case file(path: String, offset: Int, length: Int)

    public var count: Int {
        switch self {
        case .empty: return 0
        case .bytes(let bytes): return bytes.count
        case .file(_, _, let length): return length
        }
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute URL, already percent-encoded.
    public var url: String
    public var headers: [HTTPHeader]
    public var body: HTTPBody

    public init(method: String, url: String, headers: [HTTPHeader] = [], body: HTTPBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lower case, in the order received.
    public var headers: [HTTPHeader]
    /// The body; for streamed requests only the body of an unsuccessful (non-2xx) reply.
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPHeader], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A request that got no HTTP reply: DNS, connect, TLS, timeout, a cut connection.
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    /// libcurl's CURLcode.
    public var code: Int
    public var message: String
    public var method: String
    /// The URL without its query string (which may carry credentials).
    public var url: String

    /// Worth retrying: the server may answer next time (timeouts, resets, refused connects).
    public var isTransient: Bool {
        // 7 couldn't connect, 18 partial file, 28 timeout, 35 TLS connect, 52 empty reply,
        // 55 send error, 56 receive error, 92 HTTP/2 stream error.
        [7, 18, 28, 35, 52, 55, 56, 92].contains(code)
    }

    public var isTLSVerification: Bool { [51, 58, 60, 77, 83, 90, 91].contains(code) }

    public var description: String { "\(method) \(url): \(message) (curl error \(code))" }
}

/// Thrown by a streaming body handler to stop a transfer; rethrown as is.
public struct HTTPAbort: Error, Sendable {
    public var underlying: any Error
}
