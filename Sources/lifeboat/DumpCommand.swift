import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatArchive
#if canImport(Glibc)
import Glibc
#endif

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Write one file of a snapshot to standard output (a directory as a tar archive).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Argument(help: "The snapshot: an ID, a prefix or latest.")
    var snapshot: String

    @Argument(help: "Path of the file or directory in the snapshot (/ for everything).")
    var path: String

    @Option(name: [.short, .customLong("target")], help: "Write to this file instead of standard output.")
    var target: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            try await global.withRepository { repository in
                let chosen = try await selection.select(snapshot, in: repository, output: output)
                let index = try await repository.loadIndex()
                let dumper = Dumper(repository: repository, index: index)
                let components = chosen.subpath + pathComponents(Array(path.utf8))
                let node = try await dumper.node(at: components, in: chosen.snapshot.tree)
                var fd: Int32 = 1
                if let target {
                    fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                    guard fd >= 0 else { throw LifeboatError.posix("cannot create", target, errno: errno) }
                } else if isatty(1) == 1 && node.type == .dir {
                    throw LifeboatError(.invalidArgument, "refusing to write a tar archive to a terminal",
                                        hint: "redirect the output, e.g. `> backup.tar`, or use --target FILE")
                }
                defer { if fd != 1 { close(fd) } }
                try await dumper.dump(node, name: components.last ?? [], to: fd)
            }
        }
    }
}
