import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Remove stale locks.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("remove-all"), help: "Remove every lock, also ones that look alive.")
    var removeAll = false

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let repository = try await global.openRepository()
            let removed = try await repository.removeLocks(all: removeAll)
            if output.json {
                output.emit(.object([("message_type", .string("unlock")), ("removed", .int(Int64(removed)))]))
            } else {
                output.info(removed == 0 ? "no stale locks" : "removed \(removed) lock\(removed == 1 ? "" : "s")")
            }
        }
    }
}
