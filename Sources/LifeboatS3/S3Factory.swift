public import LifeboatCore
public import LifeboatHTTP
#if canImport(Glibc)
import Glibc
#endif

extension S3Backend {
    /// Opens `s3:…` with settings from `-o` (`extended`), the AWS environment and files.
    ///
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`, or `endpoint_url` in the profile)
    /// replaces the scheme, host and port of the location; bucket and prefix stay.
    public static func configure(_ text: String, extended: [(key: String, value: String)], tls: TLSOptions,
                            objectLock: ObjectLockSettings? = nil,
                            environment: @escaping (String) -> String? = AWSEnvironment.processEnvironment) throws -> S3Backend {
        var location = try S3Location.parse(text)
        let aws = try AWSEnvironment.resolve(environment)
        if let endpoint = aws.endpointURL {
            let override = try S3Location.parse("s3:" + endpoint + "/" + location.bucket)
            location.useHTTPS = override.useHTTPS
            location.host = override.host
        }
        var options = S3Options()
        if let objectLock { options.objectLock = objectLock }
        try options.apply(extended)
        guard let credentials = aws.credentials else {
            throw LifeboatError(.invalidArgument, "no AWS credentials for \(location.display)",
                                hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials")
        }
        let region = options.region ?? aws.region ?? regionFromHost(location.host) ?? "us-east-1"
        // The global endpoint serves us-east-1; other regions have their own host.
        if location.host == "s3.amazonaws.com" && region != "us-east-1" {
            location.host = "s3.\(region).amazonaws.com"
        }
        let client = S3Client(location: location, credentials: credentials, region: region, options: options, tls: tls)
        return S3Backend(client: client, spoolDirectory: defaultSpoolDirectory())
    }

    /// "s3.eu-west-1.amazonaws.com" and "s3-eu-west-1.amazonaws.com" name their region.
    static func regionFromHost(_ host: String) -> String? {
        guard host.hasSuffix(".amazonaws.com") else { return nil }
        let labels = host.split(separator: ".")
        guard labels.count >= 3, let first = labels.first else { return nil }
        if first.hasPrefix("s3-") { return String(first.dropFirst(3)) }
        if first == "s3" && labels.count >= 4 { return String(labels[1]) }
        return nil
    }

    /// Packs are written to a local spool before upload: `$TMPDIR/lifeboat-spool-UID`.
    static func defaultSpoolDirectory() -> String {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return "\(base)/lifeboat-spool-\(getuid())"
    }
}
