public import LifeboatCore
public import LifeboatHTTP

/// A non-2xx answer from the API server, with the fields of its `Status` body.
public struct KubeAPIError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    public var method: String
    public var path: String
    public var body: JSONValue?

    public var description: String { "\(method) \(path): \(code) \(reason): \(message)" }
}

/// A blocking, thread-safe client for one API server (libcurl connection pool underneath).
/// Credentials never appear in errors or logs.
public final class KubeClient: Sendable {
    public let connection: ClusterConnection
    let http: HTTPClient
    /// Base URL used in requests (the tls-server-name host when one is set).
    let base: String
    private let cached = Locked<(header: String?, expires: Timestamp?)>((nil, nil))

    public init(_ connection: ClusterConnection, timeout: Double = 60) throws {
        self.connection = connection
        var options = HTTPClientOptions()
        options.tls = connection.tls
        options.connectTimeout = 10
        options.requestTimeout = timeout
        options.userAgent = "lifeboat"
        var base = connection.server
        if let name = connection.tlsServerName, let (host, port) = Self.hostPort(connection.server) {
            // Verify the certificate against tls-server-name while connecting to the real host.
            options.connectTo = ["\(name):\(port):\(host):\(port)"]
            base = "https://\(name):\(port)"
        }
        self.base = base
        if case .exec(let plugin) = connection.auth {
            let credential = try ExecCredentialRunner.run(plugin, server: connection.server)
            if let cert = credential.clientCertificate, let key = credential.clientKey {
                options.tls.clientCertPEM = cert
                options.tls.clientKeyPEM = key
            }
            if let token = credential.token { cached.withLock { $0 = ("Bearer " + token, credential.expires) } }
            else { cached.withLock { $0 = ("", credential.expires) } }
        }
        http = HTTPClient(options: options)
    }

    static func hostPort(_ url: String) -> (String, String)? {
        var rest = Substring(url)
        guard let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") else { return nil }
        rest = rest[rest.index(colon, offsetBy: 3)...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let host = String(rest[...close])
            let after = rest[rest.index(after: close)...]
            return (host, after.hasPrefix(":") ? String(after.dropFirst()) : "443")
        }
        if let colon = rest.lastIndex(of: ":") { return (String(rest[..<colon]), String(rest[rest.index(after: colon)...])) }
        return (String(rest), url.hasPrefix("https") ? "443" : "80")
    }

    private func authorization(refresh: Bool) throws -> String? {
        switch connection.auth {
        case .none: return nil
        case .token(let token): return "Bearer " + token
        case .tokenFile(let path):
            let bytes = try System.readFile(path)
            return "Bearer " + String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n\r\t")
        case .basic(let user, let password): return "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
        case .exec(let plugin):
            let current = cached.withLock { $0 }
            if !refresh, let header = current.header, current.expires.map({ Timestamp.now() < $0 }) ?? true {
                return header.isEmpty ? nil : header
            }
            let credential = try ExecCredentialRunner.run(plugin, server: connection.server)
            let header = credential.token.map { "Bearer " + $0 } ?? ""
            cached.withLock { $0 = (header, credential.expires) }
            return header.isEmpty ? nil : header
        }
    }

    /// Sends one request; on 401 with an exec plugin, runs the plugin again and retries once.
    /// Retries 429/503 and transient transport errors a few times.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                     accept: String = "application/json") throws -> HTTPResponse {
        var refresh = false
        var attempt = 0
        while true {
            attempt += 1
            var headers = [HTTPHeader("Accept", accept)]
            if let auth = try authorization(refresh: refresh) { headers.append(HTTPHeader("Authorization", auth)) }
            if body != nil { headers.append(HTTPHeader("Content-Type", contentType)) }
            let request = HTTPRequest(method: method, url: base + path, headers: headers, body: body.map { .bytes($0) } ?? .empty)
            let response: HTTPResponse
            do {
                response = try http.perform(request)
            } catch let error as HTTPTransportError {
                if error.isTransient && attempt < 3 { sleepSeconds(0.2 * Double(attempt)); continue }
                throw LifeboatError(.backend, "cannot reach the Kubernetes API server \(connection.server): \(error.message)",
                                    hint: error.isTLSVerification
                                        ? "the server certificate did not verify: check certificate-authority(-data) or tls-server-name in the kubeconfig"
                                        : "check the server URL in the kubeconfig (context \(connection.contextName)) and that the cluster is up")
            }
            if response.status == 401, case .exec = connection.auth, !refresh { refresh = true; continue }
            if (response.status == 429 || response.status == 503) && attempt < 4 {
                let wait = Double(response.header("Retry-After") ?? "") ?? 0.5 * Double(attempt)
                sleepSeconds(min(wait, 5))
                continue
            }
            return response
        }
    }

    /// GET returning the parsed body; non-2xx throws `KubeAPIError`.
    public func getJSON(_ path: String, accept: String = "application/json") throws -> JSONValue {
        let response = try send("GET", path, accept: accept)
        return try Self.decode(response, method: "GET", path: path)
    }

    static func decode(_ response: HTTPResponse, method: String, path: String) throws -> JSONValue {
        let parsed = try? JSONValue(parsing: response.body)
        guard response.isSuccess else {
            throw KubeAPIError(code: response.status, reason: parsed?["reason"]?.stringValue ?? "HTTP \(response.status)",
                               message: parsed?["message"]?.stringValue ?? String(response.bodyText.prefix(200)),
                               method: method, path: path, body: parsed)
        }
        guard let parsed else {
            throw LifeboatError(.backend, "\(method) \(path): the API server answered with a body that is not JSON")
        }
        return parsed
    }

    /// Turns 401 into a clear, credential-free error.
    func explain(_ error: KubeAPIError) -> LifeboatError {
        if error.code == 401 {
            return LifeboatError(.backend, "the API server \(connection.server) rejected the credentials of context \(connection.contextName) (401 Unauthorized)",
                                 hint: "the token or client certificate is expired or wrong: refresh the kubeconfig user")
        }
        return LifeboatError(.backend, "Kubernetes API: \(error.description)")
    }
}

func sleepSeconds(_ seconds: Double) {
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    nanosleep(&ts, nil)
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

#if canImport(Glibc)
import Glibc
#endif
