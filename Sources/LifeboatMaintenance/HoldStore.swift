public import LifeboatCore
public import LifeboatRepository

/// Retention holds: one encrypted unpacked file per hold under `lifeboat-holds/`, a
/// directory restic neither lists nor checks (docs/format.md).
public struct HoldStore: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func add(_ hold: RetentionHold) async throws -> ID {
        var w = JSONWriter()
        w.beginObject()
        w.key("snapshot"); w.id(hold.snapshot)
        w.key("until"); w.timestamp(hold.until)
        w.key("reason"); w.string(hold.reason)
        w.key("created"); w.timestamp(hold.created)
        w.key("hostname"); w.string(hold.hostname)
        w.key("username"); w.string(hold.username)
        w.endObject()
        return try await repository.saveUnpacked(.hold, json: w.bytes)
    }

    /// Every hold that can be read. An unreadable hold file is an error: silently ignoring
    /// it could let forget remove a snapshot that must be kept.
    public func list() async throws -> [(id: ID, hold: RetentionHold)] {
        var out: [(id: ID, hold: RetentionHold)] = []
        for entry in try await repository.backend.list(.hold) {
            guard let id = ID(hex: entry.name) else { continue }
            let json = try await repository.loadUnpacked(.hold, id: id)
            let value = try JSONValue(parsing: json)
            guard let snapshot = value["snapshot"]?.stringValue.flatMap({ ID(hex: $0) }),
                  let until = value["until"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }) else {
                throw LifeboatError(.corrupt, "hold file \(id.short) is malformed",
                                    hint: "holds protect snapshots from forget; restore the file or remove it knowingly")
            }
            let created = value["created"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? .epoch
            out.append((id, RetentionHold(snapshot: snapshot, until: until, reason: value["reason"]?.stringValue ?? "",
                                          created: created, hostname: value["hostname"]?.stringValue ?? "",
                                          username: value["username"]?.stringValue ?? "")))
        }
        return out.sorted { ($0.hold.until, $0.id) < ($1.hold.until, $1.id) }
    }

    /// The longest-lasting hold per snapshot.
    public func bySnapshot() async throws -> [ID: RetentionHold] {
        var out: [ID: RetentionHold] = [:]
        for (_, hold) in try await list() where out[hold.snapshot].map({ $0.until < hold.until }) ?? true {
            out[hold.snapshot] = hold
        }
        return out
    }

    /// Removes the holds of `snapshot` that have expired at `now`.
    /// - Throws: `.invalidArgument` if a hold on it is still active (holds cannot be lifted early).
    public func release(snapshot: ID, now: Timestamp = .now()) async throws -> Int {
        let holds = try await list().filter { $0.hold.snapshot == snapshot }
        if let active = holds.first(where: { $0.hold.isActive(at: now) }) {
            throw LifeboatError(.invalidArgument,
                                "snapshot \(snapshot.short) is held until \(active.hold.until.rfc3339); a hold cannot be released before it expires",
                                hint: "wait until the hold expires")
        }
        for (id, _) in holds { try await repository.backend.remove(FileHandle(.hold, id)) }
        return holds.count
    }

    /// Removes every expired hold.
    public func releaseExpired(now: Timestamp = .now()) async throws -> Int {
        var removed = 0
        for (id, hold) in try await list() where !hold.isActive(at: now) {
            try await repository.backend.remove(FileHandle(.hold, id))
            removed += 1
        }
        return removed
    }
}
