import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Verify the repository's structure, and with --read-data every stored byte.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("read-data"), help: "Read and verify every pack.")
    var readData = false

    @Option(name: .customLong("read-data-subset"), help: "Read part of the packs: N/M (the N-th of M parts) or P%.")
    var subset: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            var options = CheckOptions()
            options.readData = readData || subset != nil
            if let subset {
                guard let parsed = DataSubset(parsing: subset) else {
                    throw LifeboatError(.invalidArgument, "--read-data-subset \(subset) is not N/M or P%")
                }
                options.subset = parsed
            }
            let final = options
            output.info("checking repository")
            let report = try await global.withRepository(prepare: { try await Checker(repository: $0).list() }) { repository, listing in
                try await Checker(repository: repository).check(final, listing: listing)
            }
            if output.json {
                output.emit(.object([
                    ("message_type", .string("summary")), ("errors", .int(Int64(report.errors))),
                    ("snapshots", .int(Int64(report.snapshots))), ("trees", .int(Int64(report.trees))),
                    ("packs", .int(Int64(report.packs))), ("packs_read", .int(Int64(report.packsRead))),
                    ("problems", .array(report.problems.map { .object([("severity", .string($0.severity.rawValue)),
                                                                         ("message", .string($0.message)),
                                                                         ("snapshots", .array($0.snapshots.map { .string($0.hex) }))]) })),
                ]))
            } else {
                for problem in report.problems { printErr("\(problem.severity == .error ? "error" : "hint"): \(problem.message)") }
                output.info("checked \(report.snapshots) snapshots, \(report.trees) trees, \(report.packs) packs" +
                            (options.readData ? ", read \(report.packsRead) packs" : ""))
            }
            if report.errors > 0 {
                throw LifeboatError(.corrupt, "the repository has \(report.errors) error(s)",
                                    hint: "see the messages above; nothing was changed")
            }
            output.info("no errors were found")
        }
    }
}
