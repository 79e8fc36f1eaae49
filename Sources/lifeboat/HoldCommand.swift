import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatMaintenance

struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Place a retention hold on a snapshot, list holds, or release expired ones.",
        discussion: """
            `lifeboat forget` never removes a held snapshot before the hold's date, whatever its policy says.
            Holds cannot be released before they expire. restic ignores holds (docs/maintenance.md).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Keep the snapshot until this time (RFC 3339, or a date YYYY-MM-DD meaning its start in UTC).")
    var until: String?
    @Option(help: "Why the snapshot is held (e.g. a ticket or legal case).")
    var reason = ""
    @Flag(help: "List every hold.")
    var list = false
    @Flag(help: "Remove expired holds (of SNAPSHOT, or all expired holds without one).")
    var release = false

    @Argument(help: "The snapshot to hold or release.")
    var snapshot: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            if list {
                let holds = try await global.withRepository { try await HoldStore(repository: $0).list() }
                let now = Timestamp.now()
                if output.json {
                    output.emit(.array(holds.map { h in .object([
                        ("id", .string(h.id.hex)), ("snapshot", .string(h.hold.snapshot.hex)), ("until", .string(h.hold.until.rfc3339)),
                        ("reason", .string(h.hold.reason)), ("active", .bool(h.hold.isActive(at: now))),
                        ("created", .string(h.hold.created.rfc3339)), ("hostname", .string(h.hold.hostname)),
                        ("username", .string(h.hold.username)),
                    ]) }))
                    return
                }
                var rows = [["Snapshot", "Until", "Active", "Reason", "Created by"]]
                for (_, h) in holds {
                    rows.append([h.snapshot.short, h.until.utcDisplay, h.isActive(at: now) ? "yes" : "expired", h.reason,
                                 "\(h.username)@\(h.hostname)"])
                }
                printTable(rows)
                output.info("\(holds.count) hold\(holds.count == 1 ? "" : "s")")
                return
            }
            if release {
                let snapshot = self.snapshot
                let removed = try await global.withRepository(exclusive: true) { repository -> Int in
                    let store = HoldStore(repository: repository)
                    guard let snapshot else { return try await store.releaseExpired() }
                    let all = try await repository.readableSnapshots().snapshots
                    let id = (try? SnapshotSelector(parsing: snapshot).resolve(in: all).id) ?? ID(hex: snapshot)
                    guard let id else { throw LifeboatError(.notFound, "no snapshot \(snapshot)") }
                    return try await store.release(snapshot: id)
                }
                if output.json { output.emit(.object([("message_type", .string("hold_release")), ("removed", .int(Int64(removed)))])) }
                else { output.info("released \(removed) expired hold\(removed == 1 ? "" : "s")") }
                return
            }
            guard let snapshot else {
                throw LifeboatError(.invalidArgument, "no snapshot given", hint: "lifeboat hold SNAPSHOT --until DATE [--reason TEXT], or --list")
            }
            guard let untilText = until else {
                throw LifeboatError(.invalidArgument, "--until is required to place a hold", hint: "e.g. --until 2027-12-31")
            }
            guard let date = Timestamp(rfc3339: untilText) ?? Timestamp(rfc3339: untilText + "T00:00:00Z") else {
                throw LifeboatError(.invalidArgument, "--until \(untilText) is not a date", hint: "use YYYY-MM-DD or RFC 3339")
            }
            guard date > Timestamp.now() else {
                throw LifeboatError(.invalidArgument, "--until \(untilText) is in the past", hint: "a hold must end in the future")
            }
            let reason = self.reason
            let (id, holdID) = try await global.withRepository { repository -> (ID, ID) in
                let all = try await repository.readableSnapshots().snapshots
                let chosen = try SnapshotSelector(parsing: snapshot).resolve(in: all)
                let hold = RetentionHold(snapshot: chosen.id, until: date, reason: reason, created: .now(),
                                         hostname: currentHostname(), username: currentUsername())
                return (chosen.id, try await HoldStore(repository: repository).add(hold))
            }
            if output.json {
                output.emit(.object([("message_type", .string("hold")), ("id", .string(holdID.hex)), ("snapshot", .string(id.hex)),
                                     ("until", .string(date.rfc3339))]))
            } else {
                output.info("snapshot \(id.short) is held until \(date.rfc3339)")
            }
        }
    }
}
