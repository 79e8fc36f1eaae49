import Foundation
import Testing
import LifeboatCore
import LifeboatHTTP
import LifeboatS3

/// Runs the signer over every case folder under `shared/testdata/sigv4/` (three layouts:
/// the AWS suite, aws-c-auth's, and the S3 examples) and compares each step byte for byte.
@Suite struct SigV4SuiteTests {
    static var root: String {
        let shared = ProcessInfo.processInfo.environment["LIFEBOAT_SHARED"] ?? ProcessInfo.processInfo.environment["SHARED_DIR"]
        let base = shared ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../shared").standardized.path
        return base + "/testdata/sigv4"
    }

    /// Every directory holding a case, found by walking the tree.
    static func caseDirectories() -> [String] {
        var out: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        for case let relative as String in walker {
            let path = root + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if files.contains("request.txt") || files.contains(where: { $0.hasSuffix(".req") }) { out.append(path) }
        }
        return out.sorted()
    }

    @Test func findsTheCases() {
        let cases = Self.caseDirectories()
        // An empty or missing folder must fail, not pass with zero cases.
        #expect(!cases.isEmpty, "no SigV4 cases under \(Self.root): set LIFEBOAT_SHARED (or SHARED_DIR) to the shared folder")
    }

    @Test(arguments: caseDirectories())
    func signsLikeAWS(_ directory: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        if files.contains("request.txt") {
            try checkCRTCase(directory)
        } else {
            try checkSuiteCase(directory, files: files)
        }
    }

    // MARK: - AWS suite and S3 examples: <case>.req with X-Amz-Date already in it

    func checkSuiteCase(_ directory: String, files: [String]) throws {
        let name = (directory as NSString).lastPathComponent
        func read(_ ext: String) throws -> String? {
            guard files.contains("\(name).\(ext)") else { return nil }
            return try String(contentsOfFile: "\(directory)/\(name).\(ext)", encoding: .utf8)
        }
        let request = try ParsedRequest(try #require(try read("req")))
        let context = try files.contains("context.json")
            ? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/context.json"))) as? [String: Any] ?? [:]
            : [:]
        let service = context["service"] as? String ?? "service"
        // The suite's session-token case signs a token its .req does not carry: the one
        // aws-c-auth's context.json names for the same case (PROVENANCE.md).
        let hasToken = request.headers.contains { $0.name.lowercased() == "x-amz-security-token" }
        let token = name.contains("session-token") && !hasToken ? "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" : nil
        let credentials = AWSCredentials(accessKeyID: context["access_key_id"] as? String ?? "AKIDEXAMPLE",
                                         secretAccessKey: context["secret_access_key"] as? String ?? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         sessionToken: context["token"] as? String ?? token)
        let signer = SigV4Signer(credentials: credentials, region: context["region"] as? String ?? "us-east-1", service: service,
                                 normalizePath: context["normalize_path"] as? Bool ?? true,
                                 doubleEncode: context["double_uri_encode"] as? Bool ?? true)
        var headers = request.headers
        // The "after" variant adds the session token once the signature is made (readme.txt).
        if name.hasSuffix("header-after") { headers.removeAll { $0.name.lowercased() == "x-amz-security-token" } }
        let date = context["timestamp"] as? String ?? headers.first { $0.name.lowercased() == "x-amz-date" }!.value
        let signature: SigV4Signer.Signature
        if let expires = context["expires_seconds"] as? Int {
            signature = signer.presign(method: request.method, target: request.target, headers: headers,
                                       payloadHash: service == "s3" ? SigV4Signer.unsignedPayload : sha256Hex(request.body),
                                       date: date, expires: expires)
        } else {
            let declared = headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
            signature = signer.sign(method: request.method, target: request.target, headers: headers,
                                    payloadHash: declared ?? sha256Hex(request.body), date: date)
        }
        #expect(signature.canonicalRequest == (try read("creq")), "canonical request of \(name)")
        #expect(signature.stringToSign == (try read("sts")), "string to sign of \(name)")
        if let sig = try read("sig") { #expect(signature.signature == sig, "signature of \(name)") }
        if let authz = try read("authz") {
            // AWS's S3 examples write no space after the commas; both spellings are valid.
            #expect(signature.authorization.replacingOccurrences(of: ", ", with: ",") == authz.replacingOccurrences(of: ", ", with: ","),
                    "Authorization of \(name)")
            if authz.contains(", ") { #expect(signature.authorization == authz) }
        }
    }

    // MARK: - aws-c-auth: request.txt without X-Amz-Date, parameters in context.json

    func checkCRTCase(_ directory: String) throws {
        func read(_ file: String) throws -> String { try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8) }
        let context = try #require(try JSONSerialization.jsonObject(with: Data(read("context.json").utf8)) as? [String: Any])
        let keys = try #require(context["credentials"] as? [String: Any])
        // "omit_session_token": the token is added after signing, so it is not signed.
        let omitToken = context["omit_session_token"] as? Bool ?? false
        let credentials = AWSCredentials(accessKeyID: keys["access_key_id"] as! String, secretAccessKey: keys["secret_access_key"] as! String,
                                         sessionToken: omitToken ? nil : keys["token"] as? String)
        let service = context["service"] as! String
        let signer = SigV4Signer(credentials: credentials, region: context["region"] as! String, service: service,
                                 normalizePath: context["normalize"] as? Bool ?? true, doubleEncode: service != "s3")
        let timestamp = context["timestamp"] as! String  // 2015-08-30T12:36:00Z
        let date = timestamp.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let request = try ParsedRequest(try read("request.txt"))
        let bodyHash = sha256Hex(request.body)

        var headers = request.headers
        headers.append(HTTPHeader("X-Amz-Date", date))
        if let token = credentials.sessionToken { headers.append(HTTPHeader("X-Amz-Security-Token", token)) }
        if context["sign_body"] as? Bool == true { headers.append(HTTPHeader("X-Amz-Content-Sha256", bodyHash)) }
        let signed = signer.sign(method: request.method, target: request.target, headers: headers, payloadHash: bodyHash, date: date)
        #expect(signed.canonicalRequest == (try read("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try read("header-string-to-sign.txt")))
        #expect(signed.signature == (try read("header-signature.txt")))
        let authorization = try read("header-signed-request.txt").split(separator: "\n")
            .first { $0.hasPrefix("Authorization:") }.map { String($0.dropFirst("Authorization:".count)) }
        #expect(signed.authorization == authorization)

        if FileManager.default.fileExists(atPath: directory + "/query-canonical-request.txt") {
            let presigned = signer.presign(method: request.method, target: request.target, headers: request.headers,
                                           payloadHash: service == "s3" ? SigV4Signer.unsignedPayload : bodyHash, date: date,
                                           expires: context["expiration_in_seconds"] as? Int ?? 3600)
            #expect(presigned.canonicalRequest == (try read("query-canonical-request.txt")))
            #expect(presigned.stringToSign == (try read("query-string-to-sign.txt")))
            #expect(presigned.signature == (try read("query-signature.txt")))
        }
    }
}

/// A raw HTTP/1.1 request as the suites write it: request line, `Name:value` headers
/// (continuation lines start with white space), a blank line, the body.
struct ParsedRequest {
    var method: String
    var target: String
    var headers: [HTTPHeader] = []
    var body: [UInt8] = []

    init(_ text: String) throws {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        guard let space = requestLine.firstIndex(of: " "), let version = requestLine.range(of: " HTTP/", options: .backwards) else {
            throw CLIError("bad request line: \(requestLine)")
        }
        method = String(requestLine[..<space])
        target = String(requestLine[requestLine.index(after: space)..<version.lowerBound])
        while let line = lines.first {
            lines.removeFirst()
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw CLIError("bad header line: \(line)") }
            headers.append(HTTPHeader(String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        body = Array(lines.joined(separator: "\n").utf8)
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }
