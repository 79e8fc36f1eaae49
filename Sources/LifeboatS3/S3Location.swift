public import LifeboatCore

/// Where a repository lives in S3, parsed from restic's syntax:
/// `s3:https://HOST[:PORT]/BUCKET[/PREFIX]`, `s3:http://…`, `s3:HOST/BUCKET[/PREFIX]` (https).
public struct S3Location: Sendable, Equatable {
    public var useHTTPS: Bool
    /// Host name with a non-default port ("127.0.0.1:9000").
    public var host: String
    public var bucket: String
    /// Key prefix without leading or trailing "/" ("" for the bucket root).
    public var prefix: String

    public init(useHTTPS: Bool, host: String, bucket: String, prefix: String) {
        self.useHTTPS = useHTTPS
        self.host = host
        self.bucket = bucket
        self.prefix = prefix
    }

    public static func parse(_ location: String) throws -> S3Location {
        guard location.hasPrefix("s3:") else {
            throw LifeboatError(.invalidArgument, "\(location) is not an S3 location", hint: "write s3:https://HOST/BUCKET/PREFIX")
        }
        var rest = Substring(location.dropFirst(3))
        var https = true
        if rest.hasPrefix("https://") { rest = rest.dropFirst(8) } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
            https = false
        } else if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, !parts[0].isEmpty else {
            throw LifeboatError(.invalidArgument, "the S3 location \(location) names no bucket",
                                hint: "write s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3:s3.amazonaws.com/BUCKET[/PREFIX]")
        }
        var host = String(parts[0])
        if https && host.hasSuffix(":443") { host.removeLast(4) }
        if !https && host.hasSuffix(":80") { host.removeLast(3) }
        let bucket = String(parts[1])
        try validateBucket(bucket, location: location)
        return S3Location(useHTTPS: https, host: host, bucket: bucket, prefix: parts.dropFirst(2).joined(separator: "/"))
    }

    static func validateBucket(_ bucket: String, location: String) throws {
        let allowed = bucket.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
        }
        guard allowed, (3...63).contains(bucket.utf8.count) else {
            throw LifeboatError(.invalidArgument, "\"\(bucket)\" in \(location) is not a valid S3 bucket name",
                                hint: "bucket names have 3 to 63 characters: lower-case letters, digits, '-' and '.'")
        }
    }

    /// The key of a repository file ("PREFIX/data/3f/3f9a…").
    public func key(_ path: String) -> String { prefix.isEmpty ? path : prefix + "/" + path }

    /// The display form: `s3:SCHEME://HOST/BUCKET/PREFIX`.
    public var display: String {
        "s3:\(useHTTPS ? "https" : "http")://\(host)/\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix)
    }

    /// A host in AWS's own domain: virtual-hosted addressing works and is preferred there.
    public var isAWS: Bool { host.hasSuffix("amazonaws.com") || host.hasSuffix("amazonaws.com.cn") }
}

/// How the bucket appears in URLs: `dns` = BUCKET.HOST/KEY, `path` = HOST/BUCKET/KEY.
public enum BucketLookup: String, Sendable {
    case auto, dns, path
}

/// Settings from `-o s3.KEY=VALUE`, the environment and the AWS config files.
public struct S3Options: Sendable {
    public var region: String?
    public var bucketLookup: BucketLookup = .auto
    public var connections = 5
    /// Seconds a transfer may make no progress before it is cut and retried.
    public var stallTimeout = 30
    public var connectTimeout = 10.0
    /// Attempts per request, the first included.
    public var attempts = 6
    public var objectLock: ObjectLockSettings?

    public init() {}

    /// Applies the `s3.*` entries of `-o`; other prefixes are left for other backends.
    public mutating func apply(_ extended: [(key: String, value: String)]) throws {
        for (key, value) in extended where key.hasPrefix("s3.") {
            func int(_ range: ClosedRange<Int>) throws -> Int {
                guard let n = Int(value), range.contains(n) else {
                    throw LifeboatError(.invalidArgument, "-o \(key)=\(value): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
                }
                return n
            }
            switch key {
            case "s3.region": region = value
            case "s3.bucket-lookup":
                guard let lookup = BucketLookup(rawValue: value) else {
                    throw LifeboatError(.invalidArgument, "-o s3.bucket-lookup=\(value): expected auto, dns or path")
                }
                bucketLookup = lookup
            case "s3.connections": connections = try int(1...128)
            case "s3.stall-timeout": stallTimeout = try int(1...3600)
            case "s3.connect-timeout": connectTimeout = Double(try int(1...600))
            case "s3.retries": attempts = try int(0...20) + 1
            case "s3.object-lock-days":
                var lock = objectLock ?? ObjectLockSettings(mode: .governance, days: 1)
                lock.days = try int(1...36500)
                objectLock = lock
            case "s3.object-lock-mode":
                guard let mode = ObjectLockMode(rawValue: value.uppercased()) else {
                    throw LifeboatError(.invalidArgument, "-o s3.object-lock-mode=\(value): expected GOVERNANCE or COMPLIANCE")
                }
                var lock = objectLock ?? ObjectLockSettings(mode: mode, days: 0)
                lock.mode = mode
                objectLock = lock
            default:
                throw LifeboatError(.invalidArgument, "unknown option -o \(key)",
                                    hint: "S3 options: s3.region, s3.bucket-lookup, s3.connections, s3.stall-timeout, "
                                        + "s3.connect-timeout, s3.retries, s3.object-lock-days, s3.object-lock-mode")
            }
        }
        if let lock = objectLock, lock.days < 1 {
            throw LifeboatError(.invalidArgument, "an Object Lock mode needs a retention period",
                                hint: "add --object-lock-days N (or -o s3.object-lock-days=N)")
        }
    }
}

public enum ObjectLockMode: String, Sendable {
    case governance = "GOVERNANCE"
    case compliance = "COMPLIANCE"
}

/// Retention written on packs, index and snapshot files.
public struct ObjectLockSettings: Sendable {
    public var mode: ObjectLockMode
    public var days: Int
    public init(mode: ObjectLockMode, days: Int) {
        self.mode = mode
        self.days = days
    }
}
