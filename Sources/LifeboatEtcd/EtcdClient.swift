import LifeboatCore
public import LifeboatHTTP

/// What `POST /v3/maintenance/status` reports about the member that answered.
public struct EtcdStatus: Sendable {
    public var endpoint: String
    public var clusterID: UInt64
    public var memberID: UInt64
    public var revision: Int64
    public var raftTerm: UInt64
    public var dbSize: UInt64
    public var version: String
    public var leader: UInt64
    public var isLeader: Bool { leader == memberID }
}

/// A client for etcd's v3 JSON gateway (grpc-gateway on the client URL). Endpoints are tried in
/// order; the first that answers serves the rest of the session.
public final class EtcdClient: Sendable {
    public struct Credentials: Sendable {
        public var user: String
        public var password: String
        public init(user: String, password: String) { self.user = user; self.password = password }
    }

    public let endpoints: [String]
    private let http: HTTPClient
    private let streaming: HTTPClient
    private let credentials: Credentials?
    private let session = Locked<(endpoint: String?, tokens: [String: String])>((nil, [:]))

    /// - Parameters:
    ///   - dialTimeout: seconds to connect to one endpoint (TCP + TLS).
    public init(endpoints: [String], tls: TLSOptions = TLSOptions(), credentials: Credentials? = nil,
                dialTimeout: Double = 5, requestTimeout: Double = 30) throws {
        let cleaned = endpoints.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
        guard !cleaned.isEmpty else {
            throw LifeboatError(.invalidArgument, "no etcd endpoint given", hint: "pass --endpoints https://HOST:2379")
        }
        for url in cleaned where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw LifeboatError(.invalidArgument, "etcd endpoint \(url) is not an http:// or https:// URL",
                                hint: "for example --endpoints https://10.0.0.10:2379")
        }
        self.endpoints = cleaned
        self.credentials = credentials
        var options = HTTPClientOptions()
        options.tls = tls
        options.connectTimeout = dialTimeout
        options.stallTimeout = 30
        var small = options
        small.requestTimeout = requestTimeout
        http = HTTPClient(options: small)
        streaming = HTTPClient(options: options)
    }

    /// The endpoint that answered last (nil before the first call).
    public var activeEndpoint: String? { session.withLock { $0.endpoint } }

    public func status() throws -> EtcdStatus {
        let (endpoint, reply) = try call("/v3/maintenance/status", body: "{}")
        let header = reply["header"]
        func number(_ value: JSONValue?) -> UInt64 {
            if let s = value?.stringValue { return UInt64(s) ?? 0 }
            return value?.uint64Value ?? 0
        }
        return EtcdStatus(endpoint: endpoint, clusterID: number(header?["cluster_id"]), memberID: number(header?["member_id"]),
                          revision: Int64(number(header?["revision"])), raftTerm: number(header?["raft_term"]),
                          dbSize: number(reply["dbSize"]), version: reply["version"]?.stringValue ?? "",
                          leader: number(reply["leader"]))
    }

    /// The name of a member (`--name` of that etcd), from the member list.
    public func memberName(_ id: UInt64) throws -> String? {
        let (_, reply) = try call("/v3/cluster/member/list", body: "{}")
        for member in reply["members"]?.arrayValue ?? [] {
            let raw = member["ID"]
            let value = raw?.stringValue.flatMap { UInt64($0) } ?? raw?.uint64Value
            if value == id, let name = member["name"]?.stringValue, !name.isEmpty { return name }
        }
        return nil
    }

    /// Streams a snapshot from the endpoint that answered `status`; the snapshot file's bytes
    /// (database, then the 32-byte trailer) go to `emit` as they arrive. An error thrown by
    /// `emit` stops the transfer. Throws unless the stream was complete.
    public func snapshot(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let endpoint = try activeEndpoint ?? status().endpoint
        var decoder = SnapshotStreamDecoder()
        let response: HTTPResponse
        do {
            response = try streaming.perform(request(endpoint, "/v3/maintenance/snapshot", body: "{}")) { piece in
                try decoder.push(piece, emit: emit)
            }
        } catch let error as HTTPTransportError {
            throw LifeboatError(.backend, "the snapshot stream from \(endpoint) was cut after \(decoder.databaseBytes) database bytes",
                                hint: "nothing was saved; check etcd's health and run the backup again", underlying: error)
        }
        guard response.isSuccess else { throw httpError(response, endpoint: endpoint, path: "/v3/maintenance/snapshot") }
        try decoder.finish(emit: emit)
    }

    // MARK: Requests

    private func request(_ endpoint: String, _ path: String, body: String) throws -> HTTPRequest {
        var headers = [HTTPHeader("Content-Type", "application/json")]
        if let token = try token(endpoint) { headers.append(HTTPHeader("Authorization", token)) }
        return HTTPRequest(method: "POST", url: endpoint + path, headers: headers, body: .bytes(Array(body.utf8)))
    }

    /// Sends one unary call, trying each endpoint until one answers.
    private func call(_ path: String, body: String) throws -> (String, JSONValue) {
        var order = endpoints
        if let active = activeEndpoint, let i = order.firstIndex(of: active) { order.swapAt(0, i) }
        var failures: [String] = []
        var lastTransport: HTTPTransportError?
        for endpoint in order {
            do {
                let response = try http.perform(request(endpoint, path, body: body))
                guard response.isSuccess else { throw httpError(response, endpoint: endpoint, path: path) }
                let value = try JSONValue(parsing: response.body)
                session.withLock { $0.endpoint = endpoint }
                return (endpoint, value)
            } catch let error as HTTPTransportError {
                failures.append("\(endpoint): \(error.message)")
                lastTransport = error
            }
        }
        let tls = lastTransport?.isTLSVerification == true
        throw LifeboatError(.backend, "cannot reach etcd: " + failures.joined(separator: "; "),
                            hint: tls ? "check --cacert (the CA that signed etcd's server certificate) and --cert/--key, or --insecure-skip-tls-verify"
                                : "check --endpoints and that etcd listens there; an https:// endpoint needs --cacert, and --cert/--key when etcd checks client certificates")
    }

    private func token(_ endpoint: String) throws -> String? {
        guard let credentials else { return nil }
        if let token = session.withLock({ $0.tokens[endpoint] }) { return token }
        let body = "{\"name\":\(jsonString(credentials.user)),\"password\":\(jsonString(credentials.password))}"
        let response = try http.perform(HTTPRequest(method: "POST", url: endpoint + "/v3/auth/authenticate",
                                                    headers: [HTTPHeader("Content-Type", "application/json")],
                                                    body: .bytes(Array(body.utf8))))
        guard response.isSuccess else {
            throw LifeboatError(.invalidArgument, "etcd at \(endpoint) refused the credentials of user \(credentials.user): \(errorText(response))",
                                hint: "check --user USER:PASSWORD")
        }
        guard let token = try JSONValue(parsing: response.body)["token"]?.stringValue, !token.isEmpty else {
            throw LifeboatError(.invalidArgument, "etcd at \(endpoint) returned no token for user \(credentials.user): is authentication enabled (`etcdctl auth enable`)?",
                                hint: "drop --user if this etcd does not use authentication")
        }
        session.withLock { $0.tokens[endpoint] = token }
        return token
    }

    private func httpError(_ response: HTTPResponse, endpoint: String, path: String) -> LifeboatError {
        let text = errorText(response)
        let auth = response.status == 401 || response.status == 403 || text.contains("auth") || text.contains("permission denied")
        return LifeboatError(.backend, "etcd at \(endpoint) answered \(path) with HTTP \(response.status): \(text)",
                             hint: auth ? "this etcd requires authentication: pass --user USER:PASSWORD (a user with the root role can take snapshots)" : nil)
    }
}

/// The `error`/`message` text of a grpc-gateway error body, or the body itself.
func errorText(_ response: HTTPResponse) -> String {
    if let value = try? JSONValue(parsing: response.body) {
        if let text = value["error"]?.stringValue ?? value["message"]?.stringValue { return text }
        if let text = value["error"]?["message"]?.stringValue { return text }
    }
    let text = response.bodyText
    return text.isEmpty ? "(empty body)" : String(text.prefix(300))
}

func jsonString(_ text: String) -> String {
    var writer = JSONWriter()
    writer.string(text)
    return String(decoding: writer.bytes, as: UTF8.self)
}
