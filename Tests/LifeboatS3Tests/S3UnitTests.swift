import Foundation
import Testing
import LifeboatCore
import LifeboatHTTP
@testable import LifeboatS3

@Suite struct S3LocationTests {
    @Test func parsesResticSyntax() throws {
        #expect(try S3Location.parse("s3:https://minio.local:9000/bucket/a/b")
            == S3Location(useHTTPS: true, host: "minio.local:9000", bucket: "bucket", prefix: "a/b"))
        #expect(try S3Location.parse("s3:s3.amazonaws.com/bucket/prefix")
            == S3Location(useHTTPS: true, host: "s3.amazonaws.com", bucket: "bucket", prefix: "prefix"))
        #expect(try S3Location.parse("s3:http://127.0.0.1:9000/b-1")
            == S3Location(useHTTPS: false, host: "127.0.0.1:9000", bucket: "b-1", prefix: ""))
        #expect(try S3Location.parse("s3:https://host:443/bucket/").host == "host")
        #expect(try S3Location.parse("s3:https://host/bucket/p/").key("config") == "p/config")
        for bad in ["s3:", "s3:https://host", "s3:https://host/", "s3:https://host/a", "s3:https://host/bad*bucket"] {
            #expect(throws: LifeboatError.self, "\(bad)") { try S3Location.parse(bad) }
        }
    }

    @Test func options() throws {
        var options = S3Options()
        try options.apply([("s3.region", "eu-west-1"), ("s3.bucket-lookup", "path"), ("s3.connections", "10"),
                           ("s3.object-lock-days", "7"), ("s3.object-lock-mode", "compliance")])
        #expect(options.region == "eu-west-1" && options.bucketLookup == .path && options.connections == 10)
        #expect(options.objectLock?.days == 7 && options.objectLock?.mode == .compliance)
        #expect(S3Options().connections == 5)
        for bad in [("s3.connections", "0"), ("s3.bucket-lookup", "x"), ("s3.nonsense", "1"), ("s3.object-lock-mode", "GOVERNANCE")] {
            var o = S3Options()
            #expect(throws: LifeboatError.self, "\(bad)") { try o.apply([bad]) }
        }
    }

    @Test func regionFromAWSHosts() {
        #expect(S3Backend.regionFromHost("s3.eu-west-1.amazonaws.com") == "eu-west-1")
        #expect(S3Backend.regionFromHost("s3-us-west-2.amazonaws.com") == "us-west-2")
        #expect(S3Backend.regionFromHost("minio.local") == nil)
    }

    @Test func addressingStyle() throws {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret")
        let aws = S3Client(location: try S3Location.parse("s3:s3.amazonaws.com/bucket/p"), credentials: credentials,
                           region: "us-east-1", options: S3Options(), tls: TLSOptions())
        #expect(aws.signed(S3Client.Call("GET", key: "p/config")).url == "https://bucket.s3.amazonaws.com/p/config")
        let minio = S3Client(location: try S3Location.parse("s3:http://127.0.0.1:9000/bucket/p"), credentials: credentials,
                             region: "us-east-1", options: S3Options(), tls: TLSOptions())
        let request = minio.signed(S3Client.Call("GET", key: nil, query: [("list-type", "2"), ("prefix", "p/data/")]))
        #expect(request.url == "http://127.0.0.1:9000/bucket?list-type=2&prefix=p%2Fdata%2F")
        #expect(request.headers.contains { $0.name == "Host" && $0.value == "127.0.0.1:9000" })
        let auth = try #require(request.headers.first { $0.name == "Authorization" }?.value)
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/") && !auth.contains("secret"))
    }
}

@Suite struct AWSEnvironmentTests {
    @Test func environmentThenProfileFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aws-env-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        [work]
        aws_access_key_id=WORKKEY
        aws_secret_access_key=worksecret
        aws_session_token = worktoken
        """.write(toFile: dir + "/.aws/credentials", atomically: true, encoding: .utf8)
        try """
        [default]
        region = eu-central-1
        [profile work]
        region = ap-south-1
        endpoint_url = https://minio.work:9000
        """.write(toFile: dir + "/.aws/config", atomically: true, encoding: .utf8)

        func resolve(_ vars: [String: String]) throws -> AWSEnvironment {
            try AWSEnvironment.resolve { (vars.merging(["HOME": dir]) { a, _ in a })[$0] }
        }
        let plain = try resolve([:])
        #expect(plain.credentials?.accessKeyID == "DEFAULTKEY" && plain.region == "eu-central-1" && plain.endpointURL == nil)
        let work = try resolve(["AWS_PROFILE": "work"])
        #expect(work.credentials?.accessKeyID == "WORKKEY" && work.credentials?.sessionToken == "worktoken")
        #expect(work.region == "ap-south-1" && work.endpointURL == "https://minio.work:9000")
        let env = try resolve(["AWS_PROFILE": "work", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
                               "AWS_SESSION_TOKEN": "envtoken", "AWS_DEFAULT_REGION": "us-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"])
        #expect(env.credentials?.accessKeyID == "ENVKEY" && env.credentials?.sessionToken == "envtoken")
        #expect(env.region == "us-west-1" && env.endpointURL == "http://127.0.0.1:1")
        #expect(try resolve(["AWS_REGION": "a", "AWS_DEFAULT_REGION": "b"]).region == "a")
        #expect(throws: LifeboatError.self) { try resolve(["AWS_PROFILE": "nope"]) }
        #expect(!"\(env.credentials!)".contains("envsecret"))
    }
}

@Suite struct S3XMLTests {
    @Test func listResult() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>
        <Contents><Key>p/data/ab/a&amp;b</Key><Size>12</Size></Contents><Contents><Key>p/x</Key><Size>3</Size><Owner/></Contents>
        <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>
        """
        let root = try #require(XMLElement.parse(Array(xml.utf8)))
        #expect(root.name == "ListBucketResult" && root["IsTruncated"] == "true")
        #expect(root.all("Contents").map { $0["Key"] ?? "" } == ["p/data/ab/a&b", "p/x"])
        #expect(root["NextContinuationToken"] == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(XMLElement.parse(Array("<a><b></a>".utf8)) == nil)
        #expect(decodeEntities(Array("&#65;&#x42;&lt;&unknown;".utf8)) == "AB<&unknown;")
    }

    func failure(_ status: Int, _ code: String, _ message: String = "m", method: String = "GET",
                 headers: [HTTPHeader] = []) -> LifeboatError {
        let body = "<Error><Code>\(code)</Code><Message>\(message)</Message></Error>"
        return S3Failure(response: HTTPResponse(status: status, headers: headers, body: Array(body.utf8)),
                         call: S3Client.Call(method, key: "repo/config"), location: try! S3Location.parse("s3:http://h:1/bkt/repo"))
            .error(attempts: 1)
    }

    @Test func errorMapping() {
        #expect(failure(404, "NoSuchBucket").code == .repositoryNotFound)
        #expect(failure(404, "NoSuchKey").code == .notFound)
        let denied = failure(403, "AccessDenied")
        #expect(denied.message.contains("s3://bkt/repo/config") && denied.hint?.contains("permission") == true)
        #expect(failure(403, "SignatureDoesNotMatch").hint?.contains("clock") == true)
        #expect(failure(403, "SignatureDoesNotMatch").hint?.contains("region") == true)
        #expect(failure(403, "RequestTimeTooSkewed").hint?.contains("clock") == true)
        #expect(failure(403, "InvalidAccessKeyId").message.contains("access key"))
        #expect(failure(400, "AuthorizationHeaderMalformed", headers: [HTTPHeader("x-amz-bucket-region", "eu-west-3")]).hint?.contains("eu-west-3") == true)
        #expect(failure(403, "AccessDenied", "Access Denied because object protected by object lock.", method: "DELETE").code == .retained)
        let unlocked = failure(400, "InvalidRequest", "Bucket is missing Object Lock Configuration", method: "PUT")
        #expect(unlocked.code == .backend && unlocked.hint?.contains("Object Lock enabled") == true)
        #expect(S3Failure(response: HTTPResponse(status: 503, headers: [], body: []), call: S3Client.Call("PUT", key: "k"),
                          location: try! S3Location.parse("s3:http://h:1/bkt")).isTransient)
        #expect(!S3Failure(response: HTTPResponse(status: 403, headers: [], body: []), call: S3Client.Call("PUT", key: "k"),
                           location: try! S3Location.parse("s3:http://h:1/bkt")).isTransient)
    }

    @Test func hmacMatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Hex.encode(MD5.hash(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
    }
}
