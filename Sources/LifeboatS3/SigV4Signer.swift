public import LifeboatCore
public import LifeboatHTTP

/// AWS credentials. `description` never shows the secret.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret hidden)" }
}

/// AWS Signature Version 4 (header and query-string forms).
///
/// S3 wants `normalizePath = false` and `doubleEncode = false`: the path is signed as sent,
/// encoded once. The generic AWS test suite uses both set to true.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    public var normalizePath: Bool
    public var doubleEncode: Bool

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3",
                normalizePath: Bool = false, doubleEncode: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
        self.doubleEncode = doubleEncode
    }

    /// Everything a signature is built from; tests compare each step.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var signedHeaders: String
        public var credentialScope: String
        /// The `Authorization` header value (header signing only).
        public var authorization: String
        /// The query string to send (query signing only; includes X-Amz-Signature).
        public var signedQuery: String
    }

    /// Signs with the Authorization header. `headers` must already contain every header to
    /// sign (host, x-amz-date, x-amz-content-sha256, x-amz-security-token as wanted);
    /// `target` is the request-target as sent ("/path?query").
    /// A session token of the credentials is added as `X-Amz-Security-Token` when missing.
    public func sign(method: String, target: String, headers: [HTTPHeader],
                     payloadHash: String, date: String) -> Signature {
        let (path, query) = split(target)
        var headers = headers
        if let token = credentials.sessionToken, !headers.contains(where: { $0.name.lowercased() == "x-amz-security-token" }) {
            headers.append(HTTPHeader("X-Amz-Security-Token", token))
        }
        let canonicalHeaders = canonicalize(headers)
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let creq = [method, canonicalURI(path), canonicalQuery(query),
                    canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
                    signedHeaders, payloadHash].joined(separator: "\n")
        var result = finish(canonicalRequest: creq, signedHeaders: signedHeaders, date: date)
        result.authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(result.credentialScope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(result.signature)"
        return result
    }

    /// Presigns: the X-Amz-* parameters go into the query string (valid `expires` seconds).
    public func presign(method: String, target: String, headers: [HTTPHeader], payloadHash: String,
                        date: String, expires: Int) -> Signature {
        let (path, query) = split(target)
        let canonicalHeaders = canonicalize(headers)
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let scope = credentialScope(date: date)
        var parameters = query.map { [$0] } ?? []
        parameters.append("X-Amz-Algorithm=AWS4-HMAC-SHA256")
        parameters.append("X-Amz-Credential=" + percentEncode("\(credentials.accessKeyID)/\(scope)"))
        parameters.append("X-Amz-Date=" + date)
        parameters.append("X-Amz-Expires=\(expires)")
        if let token = credentials.sessionToken { parameters.append("X-Amz-Security-Token=" + percentEncode(token)) }
        parameters.append("X-Amz-SignedHeaders=" + percentEncode(signedHeaders))
        let fullQuery = parameters.joined(separator: "&")
        let creq = [method, canonicalURI(path), canonicalQuery(fullQuery),
                    canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
                    signedHeaders, payloadHash].joined(separator: "\n")
        var result = finish(canonicalRequest: creq, signedHeaders: signedHeaders, date: date)
        result.signedQuery = fullQuery + "&X-Amz-Signature=" + result.signature
        return result
    }

    private func finish(canonicalRequest: String, signedHeaders: String, date: String) -> Signature {
        let scope = credentialScope(date: date)
        let sts = ["AWS4-HMAC-SHA256", date, scope, SHA256.hash(Array(canonicalRequest.utf8)).hex].joined(separator: "\n")
        let signature = Hex.encode(hmacSHA256(key: signingKey(day: String(date.prefix(8))), message: Array(sts.utf8)))
        return Signature(canonicalRequest: canonicalRequest, stringToSign: sts, signature: signature,
                         signedHeaders: signedHeaders, credentialScope: scope, authorization: "", signedQuery: "")
    }

    public func credentialScope(date: String) -> String {
        "\(date.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    public func signingKey(day: String) -> [UInt8] {
        var key = hmacSHA256(key: Array(("AWS4" + credentials.secretAccessKey).utf8), message: Array(day.utf8))
        key = hmacSHA256(key: key, message: Array(region.utf8))
        key = hmacSHA256(key: key, message: Array(service.utf8))
        return hmacSHA256(key: key, message: Array("aws4_request".utf8))
    }

    private func split(_ target: String) -> (path: String, query: String?) {
        guard let mark = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    func canonicalURI(_ rawPath: String) -> String {
        var path = rawPath.isEmpty ? "/" : rawPath
        if normalizePath { path = normalized(path) }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            // Encoding the path as sent once more is the generic services' "double" encoding;
            // S3 signs each segment encoded exactly once.
            doubleEncode ? percentEncode(String(segment)) : percentEncode(percentDecode(String(segment)))
        }
        return segments.joined(separator: "/")
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments.
    private func normalized(_ path: String) -> String {
        var out: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        for part in parts {
            if part == "." { continue }
            if part == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(part)
        }
        var result = "/" + out.joined(separator: "/")
        let endsInDirectory = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        if endsInDirectory && !out.isEmpty { result += "/" }
        return result
    }

    func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring, value: Substring
            if let equals = item.firstIndex(of: "=") {
                key = item[..<equals]
                value = item[item.index(after: equals)...]
            } else {
                key = item
                value = ""
            }
            pairs.append((percentEncode(percentDecode(String(key))), percentEncode(percentDecode(String(value)))))
        }
        pairs.sort { $0.0 != $1.0 ? $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) : $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed;
    /// repeated names joined with ",".
    func canonicalize(_ headers: [HTTPHeader]) -> [HTTPHeader] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(collapseSpaces(header.value))
        }
        return order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { HTTPHeader($0, values[$0]!.joined(separator: ",")) }
    }

    private func collapseSpaces(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in value {
            if character == " " || character == "\t" || character == "\n" || character == "\r" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(character)
            }
        }
        return out
    }
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time.
public func amzDate(_ seconds: Int64) -> String {
    let stamp = Timestamp(seconds: seconds).rfc3339  // 2015-08-30T12:36:00Z
    var digits = ""
    for character in stamp.prefix(19) where character != "-" && character != ":" { digits.append(character) }
    return digits + "Z"
}
