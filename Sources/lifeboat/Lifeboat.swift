import ArgumentParser
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct Lifeboat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifeboat",
        abstract: "Disaster-recovery and archival backups for Kubernetes, in restic's repository format.",
        discussion: """
            Environment: LIFEBOAT_REPOSITORY, LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE, LIFEBOAT_PASSWORD_COMMAND
            (RESTIC_* equivalents are accepted as fallbacks), LIFEBOAT_WORKERS.
            Exit codes: 0 ok, 1 failure, 3 backup saved but some files could not be read,
            10 repository does not exist, 11 repository is locked, 12 wrong password, 130 interrupted.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, BackupCommand.self, SnapshotsCommand.self, LsCommand.self, RestoreCommand.self,
            DumpCommand.self, CatCommand.self, CheckCommand.self, UnlockCommand.self, EtcdCommand.self,
            ForgetCommand.self, PruneCommand.self, HoldCommand.self, RepairCommand.self, KeyCommand.self, StatsCommand.self,
            K8sCommand.self,
        ])
}

@main
enum Main {
    static func main() async {
        // restic probes a lock holder's liveness with SIGHUP; it must not kill us.
        signal(SIGHUP, SIG_IGN)
        // `dump … | head` closes the pipe early: write then fails with EPIPE and the command
        // ends through its normal error path (removing its lock) instead of dying silently.
        signal(SIGPIPE, SIG_IGN)
        // A fixed mmap threshold: glibc otherwise raises it after scrypt frees its 32 MiB, and
        // the pipeline's large buffers then stay in the heap and fragment it (peak RSS +50%).
        setMmapThreshold(256 << 10)
        let arguments = GlobalArguments.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        let command = Task { await Lifeboat.main(arguments) }
        // Ctrl-C or SIGTERM cancels the command, which stops its work, removes its lock and
        // exits with 130; a second signal exits at once.
        let interrupts = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            // Not main-actor isolated: the handler runs on a global queue.
            source.setEventHandler { @Sendable in
                if Interrupts.first() { command.cancel() } else { _exit(130) }
            }
            source.resume()
            return source
        }
        await command.value
        // `_ = interrupts` does not keep the sources alive in an optimized build: they were
        // released (and so cancelled) right after setup, and Ctrl-C did nothing.
        withExtendedLifetime(interrupts) {}
    }
}

/// Counts interrupt signals.
enum Interrupts {
    private static let count = Mutex(0)
    /// True for the first signal only.
    static func first() -> Bool { count.withLock { $0 += 1; return $0 == 1 } }
}

/// restic users type global options before the command (`lifeboat -r REPO backup …`);
/// ArgumentParser reads them only after it, so they are moved there.
enum GlobalArguments {
    static let withValue: Set<String> = ["-r", "--repo", "--password-file", "--password-command", "--workers", "--compression"]
    static let flags: Set<String> = ["--json", "-q", "--quiet", "-v", "--verbose", "--no-lock"]

    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        let names = Set(Lifeboat.configuration.subcommands.compactMap { $0.configuration.commandName })
        var globals: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if names.contains(a) {
                // Groups (`etcd backup`): the globals go after the nested command.
                let nested = Lifeboat.configuration.subcommands.first { $0.configuration.commandName == a }?
                    .configuration.subcommands.compactMap { $0.configuration.commandName } ?? []
                if i + 1 < arguments.count, nested.contains(arguments[i + 1]) {
                    return [a, arguments[i + 1]] + globals + arguments[(i + 2)...]
                }
                return [a] + globals + arguments[(i + 1)...]
            }
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if withValue.contains(name) {
                globals.append(a)
                if !a.contains("=") && i + 1 < arguments.count { globals.append(arguments[i + 1]); i += 1 }
            } else if flags.contains(a) {
                globals.append(a)
            } else {
                return arguments  // help, version, or a typo: let ArgumentParser explain
            }
            i += 1
        }
        return arguments
    }
}

/// `mallopt(M_MMAP_THRESHOLD, bytes)`; `<malloc.h>` is not part of Swift's Glibc module.
private func setMmapThreshold(_ bytes: Int32) {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
    let M_MMAP_THRESHOLD: Int32 = -3
    _ = unsafeBitCast(symbol, to: Mallopt.self)(M_MMAP_THRESHOLD, bytes)
}
