public import LifeboatCore
public import LifeboatHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Signs, sends and retries S3 requests. Blocking: call from `blockingIO` or pipeline threads.
public final class S3Client: Sendable {
    public let location: S3Location
    public let signer: SigV4Signer
    public let http: HTTPClient
    public let options: S3Options
    /// Requests sent, retries included (for the benchmarks and cache tests).
    public let requestCount = Locked(0)
    let virtualHosted: Bool
    /// `LIFEBOAT_S3_TRACE=1` prints one line per request to stderr (method, key, status, time).
    let trace = getenv("LIFEBOAT_S3_TRACE").map { String(cString: $0) == "1" } ?? false

    public init(location: S3Location, credentials: AWSCredentials, region: String, options: S3Options, tls: TLSOptions) {
        self.location = location
        self.options = options
        signer = SigV4Signer(credentials: credentials, region: region)
        var http = HTTPClientOptions()
        http.tls = tls
        http.connectTimeout = options.connectTimeout
        http.stallTimeout = options.stallTimeout
        http.userAgent = "lifeboat"
        self.http = HTTPClient(options: http)
        // Virtual-hosted addressing needs a DNS-safe bucket name; AWS prefers it, most
        // S3-compatible servers (MinIO, Ceph, moto) want path style.
        switch options.bucketLookup {
        case .dns: virtualHosted = true
        case .path: virtualHosted = false
        case .auto: virtualHosted = location.isAWS && !location.bucket.contains(".") && !location.bucket.contains("_")
        }
    }

    /// One S3 request: `key` nil addresses the bucket itself.
    public struct Call: Sendable {
        public var method: String
        public var key: String?
        /// Query items, unencoded.
        public var query: [(String, String)] = []
        public var headers: [HTTPHeader] = []
        public var body: HTTPBody = .empty
        public var payloadHash = SigV4Signer.emptyPayloadHash

        public init(_ method: String, key: String?, query: [(String, String)] = [], headers: [HTTPHeader] = [],
                    body: HTTPBody = .empty, payloadHash: String = SigV4Signer.emptyPayloadHash) {
            self.method = method
            self.key = key
            self.query = query
            self.headers = headers
            self.body = body
            self.payloadHash = payloadHash
        }
    }

    /// Sends `call`, retrying transient failures with exponential backoff and full jitter.
    /// `onBody` receives a successful reply's body; it is called again from the start on retry,
    /// after `onRetry` lets the caller drop what it collected.
    public func send(_ call: Call, onRetry: () -> Void = {},
                     onBody: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            let request = signed(call)
            requestCount.withLock { $0 += 1 }
            let started = trace ? Timestamp.now() : Timestamp.epoch
            defer { if trace { traceLine(call, started: started, attempt: attempt) } }
            do {
                let response = try http.perform(request, onBody: onBody)
                if response.isSuccess || response.status == 304 { return response }
                let failure = S3Failure(response: response, call: call, location: location)
                if failure.isTransient && attempt < options.attempts {
                    onRetry()
                    backoff(attempt: attempt)
                    continue
                }
                throw failure.error(attempts: attempt)
            } catch let error as HTTPTransportError {
                // 65: curl found a reused connection dead and could not rewind the body
                // itself; a fresh attempt sends it from the start.
                if (error.isTransient || error.code == 65) && attempt < options.attempts {
                    onRetry()
                    backoff(attempt: attempt)
                    continue
                }
                throw transportError(error, call: call, attempts: attempt)
            }
        }
    }

    /// Sends a call and collects a successful reply's body.
    public func send(_ call: Call) throws -> HTTPResponse {
        var collected: [UInt8] = []
        var response = try send(call, onRetry: { collected.removeAll(keepingCapacity: true) }) { collected.append(contentsOf: $0) }
        response.body = collected
        return response
    }

    private func traceLine(_ call: Call, started: Timestamp, attempt: Int) {
        let end = Timestamp.now()
        let ms = Double(end.seconds - started.seconds) * 1000 + Double(end.nanoseconds - started.nanoseconds) / 1e6
        let millis = String(end.nanoseconds / 1_000_000)
        let line = "s3 \(end.seconds % 1000).\(String(repeating: "0", count: 3 - millis.count))\(millis) \(call.method) \(describe(call)) "
            + "\(call.body.count) B \(Int(ms)) ms attempt \(attempt)\n"
        var bytes = Array(line.utf8)
        _ = write(2, &bytes, bytes.count)
    }

    private func backoff(attempt: Int) {
        // 0.1 s, 0.2 s, 0.4 s … capped at 5 s; full jitter spreads many clients apart.
        let cap = min(5.0, 0.1 * Double(1 << min(attempt - 1, 10)))
        let delay = Double.random(in: 0...cap) + 0.05
        usleep(useconds_t(delay * 1_000_000))
    }

    private func transportError(_ error: HTTPTransportError, call: Call, attempts: Int) -> LifeboatError {
        let object = describe(call)
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        if error.isTLSVerification {
            return LifeboatError(.backend, "TLS verification failed for \(location.host) (\(object))", hint:
                "pass --cacert FILE with the server's CA certificate (or --insecure-tls for a test server)", underlying: error)
        }
        let hint: String
        switch error.code {
        case 6: hint = "the host \(location.host) does not resolve: check the endpoint in the repository location or AWS_ENDPOINT_URL"
        case 7: hint = "nothing accepts connections at \(location.host): check the endpoint and port"
        case 28: hint = "the server did not answer in time; check the endpoint and network, or raise -o s3.stall-timeout / s3.connect-timeout"
        default: hint = "check the endpoint and the network; transient failures are retried -o s3.retries times"
        }
        return LifeboatError(.backend, "S3 \(call.method) \(object) failed\(tries): \(error.message)", hint: hint, underlying: nil)
    }

    func describe(_ call: Call) -> String {
        call.key.map { "s3://\(location.bucket)/\($0)" } ?? "bucket \(location.bucket)"
    }

    // MARK: - Signing

    func signed(_ call: Call) -> HTTPRequest {
        let host = virtualHosted ? "\(location.bucket).\(location.host)" : location.host
        var path = virtualHosted ? "" : "/" + location.bucket
        if let key = call.key { path += "/" + percentEncode(key, keepSlash: true) } else if path.isEmpty { path = "/" }
        let query = call.query.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
        let target = query.isEmpty ? path : path + "?" + query
        let date = amzDate(Timestamp.now().seconds)
        var headers = call.headers
        headers.append(HTTPHeader("Host", host))
        headers.append(HTTPHeader("x-amz-date", date))
        headers.append(HTTPHeader("x-amz-content-sha256", call.payloadHash))
        if let token = signer.credentials.sessionToken { headers.append(HTTPHeader("x-amz-security-token", token)) }
        let signature = signer.sign(method: call.method, target: target, headers: headers, payloadHash: call.payloadHash, date: date)
        headers.append(HTTPHeader("Authorization", signature.authorization))
        let url = (location.useHTTPS ? "https://" : "http://") + host + target
        return HTTPRequest(method: call.method, url: url, headers: headers, body: call.body)
    }
}

/// A non-2xx S3 reply, read from its error XML (or the status alone for HEAD).
struct S3Failure {
    var status: Int
    var code: String
    var message: String
    var bucketRegion: String?
    var call: S3Client.Call
    var location: S3Location

    init(response: HTTPResponse, call: S3Client.Call, location: S3Location) {
        status = response.status
        let xml = XMLElement.parse(response.body)
        code = xml?["Code"] ?? ""
        message = xml?["Message"] ?? ""
        bucketRegion = response.header("x-amz-bucket-region") ?? xml?["Region"]
        self.call = call
        self.location = location
    }

    var isTransient: Bool {
        if status >= 500 { return true }
        // 400 RequestTimeout: the server gave up waiting for the body; 429: throttled.
        return status == 429 || code == "RequestTimeout" || code == "SlowDown" || code == "InternalError"
    }

    func error(attempts: Int) -> LifeboatError {
        let object = call.key.map { "s3://\(location.bucket)/\($0)" } ?? "bucket \(location.bucket)"
        let what = "S3 \(call.method) \(object)"
        let detail = code.isEmpty ? "HTTP \(status)" : "\(code) (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        switch code {
        case "NoSuchKey":
            return LifeboatError(.notFound, "\(object) does not exist")
        case "NoSuchBucket":
            return LifeboatError(.repositoryNotFound, "the bucket \(location.bucket) does not exist at \(location.host)",
                                 hint: "check the bucket name, or create the repository with `lifeboat init` (which creates the bucket)")
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            let lower = message.lowercased()
            if call.method == "DELETE" && (lower.contains("retention") || lower.contains("object lock")) {
                return retained(object)
            }
            return LifeboatError(.backend, "\(what) was refused: \(detail)",
                                 hint: "the credentials lack permission for bucket \(location.bucket) (s3:GetObject, s3:PutObject, s3:ListBucket, s3:DeleteObject)")
        case "InvalidAccessKeyId":
            return LifeboatError(.backend, "\(what): the access key ID is not known to the server: \(detail)",
                                 hint: "check AWS_ACCESS_KEY_ID / AWS_PROFILE (the key, not the secret, is named in this message)")
        case "SignatureDoesNotMatch":
            return LifeboatError(.backend, "\(what): the server computed a different request signature: \(detail)",
                                 hint: "check AWS_SECRET_ACCESS_KEY, the region (-o s3.region / AWS_REGION) and the system clock")
        case "RequestTimeTooSkewed":
            return LifeboatError(.backend, "\(what): this machine's clock differs too much from the server's: \(detail)",
                                 hint: "synchronise the system clock (NTP); S3 accepts at most 15 minutes of skew")
        case "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "PermanentRedirect":
            return LifeboatError(.backend, "\(what): wrong region: \(detail)", hint: regionHint)
        case "ObjectLocked":
            return retained(object)
        case "InvalidRequest" where message.lowercased().contains("object lock"):
            return LifeboatError(.backend, "\(what): \(detail)",
                                 hint: "retention needs a bucket created with Object Lock enabled (`lifeboat init --object-lock-days N` creates one)")
        default:
            break
        }
        switch status {
        case 301, 307:
            return LifeboatError(.backend, "\(what): the bucket is in another region (HTTP \(status))", hint: regionHint)
        case 403:
            return LifeboatError(.backend, "\(what) was refused: \(detail)",
                                 hint: "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE), the region and the bucket policy")
        case 404:
            return LifeboatError(.notFound, "\(object) does not exist")
        default:
            return LifeboatError(.backend, "\(what) failed\(tries): \(detail)",
                                 hint: isTransient ? "the server kept failing; try again later or raise -o s3.retries" : nil)
        }
    }

    private var regionHint: String {
        let region = bucketRegion.map { "the bucket is in \($0): " } ?? ""
        return region + "set -o s3.region=REGION or AWS_REGION to the bucket's region"
    }

    private func retained(_ object: String) -> LifeboatError {
        LifeboatError(.retained, "\(object) is under S3 Object Lock retention and cannot be deleted yet",
                      hint: "objects can be deleted once their retain-until date has passed (prune skips them)")
    }
}
