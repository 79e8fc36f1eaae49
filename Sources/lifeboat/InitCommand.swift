import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a new repository.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var objectLock: ObjectLockOptions

    @Option(name: .customLong("repository-version"), help: "Repository format version: 2 (compressed, default) or 1.")
    var repositoryVersion = 2

    func run() async throws {
        let global = objectLock.applied(to: self.global)
        let output = global.output
        try await runCommand(output) {
            let backend = try global.backend()
            if try await backend.exists(.config) {
                throw LifeboatError(.repositoryExists, "a repository already exists at \(backend.location)",
                                    hint: "use it as it is, or choose another location")
            }
            let password = try PasswordSource(options: global).read(confirm: true)
            let repository = try await Repository.initialize(backend: backend, password: password, version: repositoryVersion)
            if output.json {
                output.emit(.object([("message_type", .string("initialized")), ("id", .string(repository.config.id)),
                                     ("repository", .string(backend.location)), ("version", .int(Int64(repositoryVersion)))]))
            } else {
                output.info("created repository \(repository.config.id.prefix(10)) (format version \(repositoryVersion)) at \(backend.location)")
                output.info("\nPlease note that knowledge of your password is required to access\nthe repository. Losing your password means that your data is\nirrecoverably lost.")
            }
        }
    }
}
