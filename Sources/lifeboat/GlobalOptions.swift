import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatArchive
import LifeboatS3
#if canImport(Glibc)
import Glibc
#endif

/// Options every command takes, named as restic names them.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.short, .customLong("repo")], help: "Repository location (env: LIFEBOAT_REPOSITORY).")
    var repository: String?

    @Option(name: .customLong("password-file"), help: "Read the password from the first line of this file (env: LIFEBOAT_PASSWORD_FILE).")
    var passwordFile: String?

    @Option(name: .customLong("password-command"), help: "Run this shell command and use the first line it prints as password (env: LIFEBOAT_PASSWORD_COMMAND).")
    var passwordCommand: String?

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors (and requested data).")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail.")
    var verbose = false

    @Option(help: "Threads for hashing, compression and encryption (env: LIFEBOAT_WORKERS; default: number of cores).")
    var workers: Int?

    @Option(help: "Compression of new data: auto, off, fastest, better or max (env: LIFEBOAT_COMPRESSION; default: auto).")
    var compression: String?

    @Flag(name: .customLong("no-lock"), help: "Do not lock the repository (for read-only media); unsafe with concurrent writers.")
    var noLock = false

    @Option(name: [.customShort("o"), .customLong("option")], help: "Backend option KEY=VALUE, repeatable (e.g. -o s3.region=eu-west-1).")
    var extendedOptions: [String] = []

    @Option(name: .customLong("cacert"), help: "Trust this CA certificate file (PEM) for TLS to the backend.")
    var caCertFile: String?

    @Flag(name: .customLong("insecure-tls"), help: "Skip TLS certificate verification (test servers only).")
    var insecureTLS = false

    @Option(name: .customLong("cache-dir"), help: "Directory for the local metadata cache (default: $XDG_CACHE_HOME/lifeboat or ~/.cache/lifeboat).")
    var cacheDir: String?

    @Flag(name: .customLong("no-cache"), help: "Do not use the local metadata cache.")
    var noCache = false

    var workerCount: Int {
        if let workers, workers > 0 { return workers }
        if let env = environment("LIFEBOAT_WORKERS"), let n = Int(env), n > 0 { return n }
        return defaultWorkerCount()
    }

    /// The `--compression` mode from the flag or the environment.
    func compressionMode() throws -> Compression {
        guard let name = compression ?? environment("LIFEBOAT_COMPRESSION") ?? environment("RESTIC_COMPRESSION"), !name.isEmpty else {
            return .auto
        }
        guard let mode = Compression(name: name) else {
            throw LifeboatError(.invalidArgument, "unknown compression mode \"\(name)\"",
                                hint: "use one of: \(Compression.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return mode
    }

    var output: Output { Output(json: json, quiet: quiet, verbose: verbose) }

    /// The repository location from the flag or the environment.
    func location() throws -> String {
        if let repository, !repository.isEmpty { return repository }
        if let env = environment("LIFEBOAT_REPOSITORY") ?? environment("RESTIC_REPOSITORY"), !env.isEmpty { return env }
        throw LifeboatError(.invalidArgument, "no repository given",
                            hint: "pass -r/--repo PATH or set LIFEBOAT_REPOSITORY")
    }

    func backend() throws -> any Backend {
        try makeBackend(location(), options: self)
    }

    func openRepository() async throws -> Repository {
        let backend = try backend()
        // Fail fast on a missing repository before asking for a password.
        guard try await backend.exists(.config) else {
            try await explainMissingBucket(backend)
            throw LifeboatError(.repositoryNotFound, "there is no repository at \(backend.location)",
                                hint: "check -r/--repo, or create one with `lifeboat init`")
        }
        let password = try PasswordSource(options: self).read(confirm: false)
        let repository = try await Repository.open(backend: backend, password: password)
        if let cached = backend as? CachingBackend { cached.activate(repositoryID: repository.config.id) }
        return repository
    }

    /// Runs `body` with the repository locked (unless --no-lock).
    /// `alsoListing`: the file types `body` lists first (see `Repository.withLock`).
    func withRepository<T: Sendable>(exclusive: Bool = false, retryLock: Double = 0, alsoListing: Set<FileType> = [],
                                     _ body: @escaping @Sendable (Repository) async throws -> T) async throws -> T {
        try await withRepository(exclusive: exclusive, retryLock: retryLock, alsoListing: alsoListing,
                                 prepare: { _ in }) { repository, _ in try await body(repository) }
    }

    /// `withRepository` for commands that read first and write late (backup): where listing
    /// is cheap, `body` starts at once and its writes wait on the gate until the lock is
    /// confirmed (`Repository.withLockStartingEarly`); on S3 the lock check lists
    /// `alsoListing` in the same request instead, so `body` starts after it.
    func withRepositoryStartingEarly<T: Sendable>(alsoListing: Set<FileType> = [],
                                                  _ body: @escaping @Sendable (Repository, WriteGate) async throws -> T) async throws -> T {
        let repository = try await openRepository()
        if noLock { return try await body(repository, .alwaysOpen) }
        if repository.backend.combinesListings {
            return try await repository.withLock(exclusive: false, alsoListing: alsoListing) { try await body(repository, .alwaysOpen) }
        }
        return try await repository.withLockStartingEarly { try await body(repository, $0) }
    }

    /// `withRepository` whose read-only first step `prepare` (loading the index, listing)
    /// runs during the lock's pause (see `Repository.withLock(prepare:)`).
    func withRepository<P: Sendable, T: Sendable>(exclusive: Bool = false, retryLock: Double = 0, alsoListing: Set<FileType> = [],
                                                  prepare: @escaping @Sendable (Repository) async throws -> P,
                                                  _ body: @escaping @Sendable (Repository, P) async throws -> T) async throws -> T {
        let repository = try await openRepository()
        if noLock { return try await body(repository, try await prepare(repository)) }
        return try await repository.withLock(exclusive: exclusive, retryFor: retryLock, alsoListing: alsoListing,
                                             prepare: { try await prepare(repository) }) { try await body(repository, $0) }
    }
}

func makeBackend(_ location: String, options: GlobalOptions? = nil) throws -> any Backend {
    if location.hasPrefix("local:") { return LocalBackend(path: String(location.dropFirst(6))) }
    if location.hasPrefix("s3:") { return try makeS3Backend(location, options: options) }
    for scheme in ["sftp:", "rest:", "b2:", "azure:", "gs:", "rclone:", "swift:"] where location.hasPrefix(scheme) {
        throw LifeboatError(.unsupported, "the \(scheme.dropLast()) backend is not available in this version",
                            hint: "use a local directory path for now")
    }
    return LocalBackend(path: location)
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
