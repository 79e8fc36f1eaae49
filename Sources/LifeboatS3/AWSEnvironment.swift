public import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds credentials, region and endpoint the way the AWS CLI does:
/// environment first, then the profile (`AWS_PROFILE`, else "default") in
/// `~/.aws/credentials` and `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`).
public struct AWSEnvironment: Sendable {
    public var credentials: AWSCredentials?
    public var region: String?
    public var endpointURL: String?
    /// Where the credentials came from, for messages ("environment", "profile default in …").
    public var credentialSource = "nowhere"

    public init(credentials: AWSCredentials? = nil, region: String? = nil, endpointURL: String? = nil) {
        self.credentials = credentials
        self.region = region
        self.endpointURL = endpointURL
    }

    /// Resolves from `variables` (the process environment by default) and the files they name.
    public static func resolve(_ variables: (String) -> String? = processEnvironment) throws -> AWSEnvironment {
        var result = AWSEnvironment()
        let profile = variables("AWS_PROFILE") ?? variables("AWS_DEFAULT_PROFILE") ?? "default"
        let home = variables("HOME") ?? ""
        let credentialsFile = variables("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        let configFile = variables("AWS_CONFIG_FILE") ?? home + "/.aws/config"
        let fromCredentials = try readINI(credentialsFile)[profile] ?? [:]
        // The config file names profiles "[profile NAME]", except "[default]".
        let configSections = try readINI(configFile)
        let fromConfig = (profile == "default" ? configSections["default"] : configSections["profile " + profile]) ?? [:]

        if let key = variables("AWS_ACCESS_KEY_ID"), let secret = variables("AWS_SECRET_ACCESS_KEY") {
            result.credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: variables("AWS_SESSION_TOKEN"))
            result.credentialSource = "the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables"
        } else if let key = fromCredentials["aws_access_key_id"], let secret = fromCredentials["aws_secret_access_key"] {
            result.credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: fromCredentials["aws_session_token"])
            result.credentialSource = "profile \(profile) in \(credentialsFile)"
        } else if let key = fromConfig["aws_access_key_id"], let secret = fromConfig["aws_secret_access_key"] {
            result.credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: fromConfig["aws_session_token"])
            result.credentialSource = "profile \(profile) in \(configFile)"
        } else if variables("AWS_PROFILE") != nil && fromCredentials.isEmpty && fromConfig.isEmpty {
            throw LifeboatError(.invalidArgument, "AWS_PROFILE names profile \"\(profile)\", which is in neither \(credentialsFile) nor \(configFile)",
                                hint: "check the profile name, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        result.region = variables("AWS_REGION") ?? variables("AWS_DEFAULT_REGION") ?? fromConfig["region"]
        result.endpointURL = variables("AWS_ENDPOINT_URL_S3") ?? variables("AWS_ENDPOINT_URL") ?? fromConfig["endpoint_url"]
        return result
    }

    public static let processEnvironment: @Sendable (String) -> String? = { name in
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

/// Parses an INI file into sections of lower-cased keys; a missing file is empty.
func readINI(_ path: String) throws -> [String: [String: String]] {
    guard let text = readSmallFile(path) else { return [:] }
    var sections: [String: [String: String]] = [:]
    var current: String?
    for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
        let line = rawLine.trimmingCharacters()
        if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
        if line.hasPrefix("[") && line.hasSuffix("]") {
            let name = String(line.dropFirst().dropLast()).trimmingCharacters()
            current = name
            if sections[name] == nil { sections[name] = [:] }
            continue
        }
        guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
        let key = line[..<equals].trimmingCharacters().lowercased()
        let value = line[line.index(after: equals)...].trimmingCharacters()
        sections[section]?[key] = value
    }
    return sections
}

func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
        if bytes.count > 1 << 22 { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
