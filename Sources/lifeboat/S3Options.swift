import ArgumentParser
import LifeboatCore
import LifeboatHTTP
import LifeboatRepository
import LifeboatS3

/// `--object-lock-days` / `--object-lock-mode` on `init` and `backup`: they become the
/// `s3.object-lock-*` backend options.
struct ObjectLockOptions: ParsableArguments {
    @Option(name: .customLong("object-lock-days"), help: "S3: keep packs, index and snapshot files under Object Lock for N days.")
    var days: Int?

    @Option(name: .customLong("object-lock-mode"), help: "S3 Object Lock mode: GOVERNANCE (default) or COMPLIANCE.")
    var mode: String?

    func validate() throws {
        if mode != nil && days == nil { throw ValidationError("--object-lock-mode needs --object-lock-days") }
        if let days, days < 1 { throw ValidationError("--object-lock-days must be at least 1") }
    }

    /// `global` with these settings appended to its `-o` options.
    func applied(to global: GlobalOptions) -> GlobalOptions {
        var copy = global
        if let days { copy.extendedOptions.append("s3.object-lock-days=\(days)") }
        if let mode { copy.extendedOptions.append("s3.object-lock-mode=\(mode)") }
        return copy
    }
}

extension GlobalOptions {
    /// `-o KEY=VALUE` entries, checked for their shape.
    func parsedExtendedOptions() throws -> [(key: String, value: String)] {
        try extendedOptions.map { entry in
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw LifeboatError(.invalidArgument, "-o \(entry) is not KEY=VALUE", hint: "for example -o s3.region=eu-west-1")
            }
            return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
    }

    /// The local metadata cache directory, or nil with --no-cache.
    var cacheBase: String? {
        if noCache { return nil }
        if let cacheDir, !cacheDir.isEmpty { return cacheDir }
        if let xdg = environment("XDG_CACHE_HOME"), !xdg.isEmpty { return xdg + "/lifeboat" }
        if let home = environment("HOME"), !home.isEmpty { return home + "/.cache/lifeboat" }
        return nil
    }
}

func makeS3Backend(_ location: String, options: GlobalOptions?) throws -> any Backend {
    var tls = TLSOptions()
    tls.caFile = options?.caCertFile
    tls.insecureSkipVerify = options?.insecureTLS ?? false
    let extended = try options?.parsedExtendedOptions() ?? []
    for (key, _) in extended where !key.hasPrefix("s3.") {
        throw LifeboatError(.invalidArgument, "-o \(key) does not apply to an S3 repository", hint: "S3 options start with s3.")
    }
    let backend = try S3Backend.configure(location, extended: extended, tls: tls)
    guard let base = options?.cacheBase else { return backend }
    return CachingBackend(inner: backend, base: base)
}

/// A HEAD reply carries no error body: when the config is missing, ask whether the bucket is.
func explainMissingBucket(_ backend: any Backend) async throws {
    let s3 = (backend as? S3Backend) ?? ((backend as? CachingBackend)?.inner as? S3Backend)
    guard let s3, try await !s3.bucketExists() else { return }
    throw LifeboatError(.repositoryNotFound, "the bucket \(s3.client.location.bucket) does not exist at \(s3.client.location.host)",
                        hint: "check the bucket name and the endpoint, or create the repository (and bucket) with `lifeboat init`")
}
