#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CCurl
import LifeboatCore

/// TLS settings for one client. Verification is on unless `insecureSkipVerify` says otherwise.
public struct TLSOptions: Sendable {
    /// CA bundle file; nil uses the system's trust store.
    public var caFile: String?
    /// CA certificates as PEM bytes (kubeconfig `certificate-authority-data`).
    public var caPEM: [UInt8]?
    public var clientCertFile: String?
    public var clientKeyFile: String?
    public var clientCertPEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var insecureSkipVerify = false

    public init() {}
}

public struct HTTPClientOptions: Sendable {
    public var tls = TLSOptions()
    /// Seconds to establish a connection (TCP + TLS).
    public var connectTimeout: Double = 15
    /// A transfer that moves less than 1 byte/s for this many seconds is cut (stalled server).
    public var stallTimeout: Int = 60
    /// Upper bound for a whole request; 0 means none (large streamed transfers).
    public var requestTimeout: Double = 0
    public var userAgent = "lifeboat"
    /// curl `CONNECT_TO` entries ("HOST:PORT:CONNECT-HOST:CONNECT-PORT"): connect elsewhere
    /// while TLS checks the URL's host name (kubeconfig `tls-server-name`).
    public var connectTo: [String] = []

    public init() {}
}

/// A blocking HTTP(S) client on libcurl. Thread-safe; idle easy handles are pooled, so
/// consecutive requests to one host reuse the connection (keep-alive, TLS session).
///
/// `perform` blocks the calling thread: call it from pipeline threads, or use the async
/// `send`, which runs it off the cooperative pool.
public final class HTTPClient: Sendable {
    public let options: HTTPClientOptions
    private let idle = Locked<[EasyHandle]>([])

    public init(options: HTTPClientOptions = HTTPClientOptions()) {
        self.options = options
    }

    /// Sends a request and collects the whole reply (for small bodies: XML, JSON).
    public func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        var collected: [UInt8] = []
        var response = try perform(request) { chunk in collected.append(contentsOf: chunk) }
        if response.isSuccess { response.body = collected }
        return response
    }

    /// Sends a request and hands a successful (2xx) body to `onBody` as it arrives, without
    /// buffering it. A non-2xx body is collected into the returned response instead.
    /// An error thrown by `onBody` stops the transfer and is rethrown.
    public func perform(_ request: HTTPRequest,
                        onBody: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponse {
        let pooled = idle.withLock { $0.popLast() }
        let handle = try pooled ?? EasyHandle(api: LibCurl.api())
        defer { idle.withLock { $0.append(handle) } }
        return try handle.perform(request, options: options, onBody: onBody)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await blockingIO { [self] in try perform(request) }
    }
}

/// libcurl's functions, loaded once (`c_curl_load`): commands that never make an HTTP
/// request never map libcurl and its dependencies.
enum LibCurl {
    private struct Table: @unchecked Sendable {  // written once, before it is shared
        let api: UnsafePointer<c_curl_api>
    }

    private static let loaded: Result<Table, HTTPTransportError> = {
        let table = UnsafeMutablePointer<c_curl_api>.allocate(capacity: 1)  // kept for the process's life
        if let error = c_curl_load(table) {
            table.deallocate()
            return .failure(HTTPTransportError(
                code: Int(CURLE_FAILED_INIT.rawValue),
                message: "libcurl could not be loaded (\(String(cString: error))); install it (Debian: apt-get install libcurl4)",
                method: "", url: ""))
        }
        _ = table.pointee.global_init(Int(CURL_GLOBAL_DEFAULT))
        return .success(Table(api: UnsafePointer(table)))
    }()

    /// - Throws: `HTTPTransportError` when libcurl is not installed.
    static func api() throws -> UnsafePointer<c_curl_api> { try loaded.get().api }
}

/// One curl easy handle. Used by one thread at a time (the pool hands it out exclusively).
private final class EasyHandle: @unchecked Sendable {
    let api: UnsafePointer<c_curl_api>
    let curl: UnsafeMutableRawPointer

    init(api: UnsafePointer<c_curl_api>) {
        guard let curl = api.pointee.easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
        self.api = api
        self.curl = curl
    }

    deinit { api.pointee.easy_cleanup(curl) }

    func perform(_ request: HTTPRequest, options: HTTPClientOptions,
                 onBody: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponse {
        // Reset drops the previous request's options but keeps live connections and the
        // TLS session cache.
        api.pointee.easy_reset(curl)
        return try withoutActuallyEscaping(onBody) { onBody in
            let transfer = Transfer(request: request, onBody: onBody)
            return try withExtendedLifetime(transfer) {
                try run(transfer, options: options)
            }
        }
    }

    private func run(_ transfer: Transfer, options: HTTPClientOptions) throws -> HTTPResponse {
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        var connectList: UnsafeMutablePointer<curl_slist>?
        defer {
            api.pointee.slist_free_all(headerList)
            api.pointee.slist_free_all(connectList)
        }

        setString(CURLOPT_URL, request.url)
        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_FOLLOWLOCATION, 0)
        setLong(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        setLong(CURLOPT_LOW_SPEED_LIMIT, 1)
        setLong(CURLOPT_LOW_SPEED_TIME, options.stallTimeout)
        if options.requestTimeout > 0 { setLong(CURLOPT_TIMEOUT_MS, Int(options.requestTimeout * 1000)) }
        setString(CURLOPT_USERAGENT, options.userAgent)
        applyTLS(options.tls)
        for entry in options.connectTo { connectList = api.pointee.slist_append(connectList, entry) }
        if let connectList { _ = c_curl_setopt_ptr(api, curl, CURLOPT_CONNECT_TO, connectList) }

        switch request.method {
        case "GET": break
        case "HEAD": setLong(CURLOPT_NOBODY, 1)
        default: setString(CURLOPT_CUSTOMREQUEST, request.method)
        }
        var hasContentType = false
        for header in request.headers {
            if header.name.lowercased() == "content-type" { hasContentType = true }
            // "Name;" is curl's spelling of a header with an empty value.
            let line = header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
            headerList = api.pointee.slist_append(headerList, line)
        }
        if request.method != "GET" && request.method != "HEAD" {
            // Large PUTs would otherwise wait a second for "100 Continue" that many servers never send.
            headerList = api.pointee.slist_append(headerList, "Expect:")
            setLong(CURLOPT_UPLOAD, 1)
            _ = c_curl_setopt_off(api, curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count))
            _ = c_curl_setopt_data_cb(api, curl, CURLOPT_READFUNCTION, readCallback)
            _ = c_curl_setopt_ptr(api, curl, CURLOPT_READDATA, context)
            if !hasContentType && request.body.count > 0 {
                headerList = api.pointee.slist_append(headerList, "Content-Type: application/octet-stream")
            }
        }
        if let headerList { _ = c_curl_setopt_ptr(api, curl, CURLOPT_HTTPHEADER, headerList) }
        _ = c_curl_setopt_data_cb(api, curl, CURLOPT_HEADERFUNCTION, headerCallback)
        _ = c_curl_setopt_ptr(api, curl, CURLOPT_HEADERDATA, context)
        _ = c_curl_setopt_data_cb(api, curl, CURLOPT_WRITEFUNCTION, writeCallback)
        _ = c_curl_setopt_ptr(api, curl, CURLOPT_WRITEDATA, context)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = c_curl_setopt_ptr(api, curl, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            defer { _ = c_curl_setopt_ptr(api, curl, CURLOPT_ERRORBUFFER, nil) }
            return api.pointee.easy_perform(curl)
        }
        if let error = transfer.callbackError { throw error }
        if code != CURLE_OK {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? api.pointee.easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)" : detail
            throw HTTPTransportError(code: Int(code.rawValue), message: message, method: request.method,
                                     url: String(request.url.prefix { $0 != "?" }))
        }
        var status = 0
        _ = c_curl_getinfo_long(api, curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.errorBody)
    }

    private func applyTLS(_ tls: TLSOptions) {
        if tls.insecureSkipVerify {
            setLong(CURLOPT_SSL_VERIFYPEER, 0)
            setLong(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let caFile = tls.caFile { setString(CURLOPT_CAINFO, caFile) }
        if let pem = tls.caPEM { setBlob(CURLOPT_CAINFO_BLOB, pem) }
        if let file = tls.clientCertFile { setString(CURLOPT_SSLCERT, file) }
        if let file = tls.clientKeyFile { setString(CURLOPT_SSLKEY, file) }
        if let pem = tls.clientCertPEM { setBlob(CURLOPT_SSLCERT_BLOB, pem) }
        if let pem = tls.clientKeyPEM { setBlob(CURLOPT_SSLKEY_BLOB, pem) }
    }

    private func setLong(_ option: CURLoption, _ value: Int) { _ = c_curl_setopt_long(api, curl, option, value) }
    private func setString(_ option: CURLoption, _ value: String) { _ = c_curl_setopt_str(api, curl, option, value) }
    private func setBlob(_ option: CURLoption, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = c_curl_setopt_blob(api, curl, option, $0.baseAddress, $0.count) }
    }
}

/// The state curl's callbacks see through their userdata pointer.
private final class Transfer {
    let request: HTTPRequest
    let onBody: (UnsafeRawBufferPointer) throws -> Void
    var headers: [HTTPHeader] = []
    var status = 0
    var errorBody: [UInt8] = []
    var callbackError: (any Error)?
    var uploaded = 0
    var file: Int32 = -1

    init(request: HTTPRequest, onBody: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.request = request
        self.onBody = onBody
    }

    deinit { if file >= 0 { close(file) } }

    func header(_ line: UnsafeRawBufferPointer) {
        var text = String(decoding: line, as: UTF8.self)
        while text.last == "\r\n" || text.last == "\n" || text.last == "\r" { text.removeLast() }
        if text.hasPrefix("HTTP/") {
            // A new header block (after "100 Continue" or a proxy's reply) replaces the last.
            headers.removeAll()
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = text[..<colon].lowercased()
        let value = text[text.index(after: colon)...].trimmingSpaces()
        headers.append(HTTPHeader(name, value))
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if (200..<300).contains(status) {
            do { try onBody(bytes) } catch {
                callbackError = error
                return false
            }
        } else if errorBody.count < 1 << 20 {
            errorBody.append(contentsOf: bytes)
        }
        return true
    }

    /// Fills `buffer` with the next body bytes; returns how many (0 at the end), or nil on error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let remaining = request.body.count - uploaded
        let n = min(buffer.count, remaining)
        guard n > 0 else { return 0 }
        switch request.body {
        case .empty: return 0
        case .bytes(let bytes):
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + uploaded, byteCount: n)
            }
        case .file(let path, let offset, _):
            if file < 0 {
                file = open(path, O_RDONLY | O_CLOEXEC)
                if file < 0 {
                    callbackError = LifeboatError.posix("open", path, errno: errno)
                    return nil
                }
            }
            let got = pread(file, buffer.baseAddress, n, off_t(offset + uploaded))
            if got <= 0 {
                callbackError = got < 0 ? LifeboatError.posix("read", path, errno: errno)
                    : LifeboatError(.io, "\(path) is shorter than the \(request.body.count) bytes to upload")
                return nil
            }
            uploaded += got
            return got
        }
        uploaded += n
        return n
    }
}

private let headerCallback: c_curl_data_cb = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    transfer.header(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private let writeCallback: c_curl_data_cb = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    return transfer.write(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
}

private let readCallback: c_curl_data_cb = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let buffer = UnsafeMutableRawBufferPointer(start: data, count: size * count)
    return transfer.read(into: buffer) ?? Int(CURL_READFUNC_ABORT)
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
