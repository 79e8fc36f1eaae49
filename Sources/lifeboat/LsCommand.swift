import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatArchive

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List files in a snapshot.",
        discussion: "Without DIR, lists the whole snapshot; with DIR, lists that directory (add --recursive for everything below).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Argument(help: "The snapshot: an ID, a prefix or latest.")
    var snapshot: String

    @Argument(help: "Directory in the snapshot to list.")
    var dir: String?

    @Flag(name: [.short, .customLong("long")], help: "Show mode, owner, size and time like ls -l.")
    var long = false

    @Flag(name: .customLong("recursive"), help: "With DIR, list everything below it.")
    var recursive = false

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            try await global.withRepository { repository in
                let chosen = try await selection.select(snapshot, in: repository, output: output)
                let index = try await repository.loadIndex()
                let start = chosen.subpath + pathComponents(Array((dir ?? "").utf8))
                let node = try await Dumper(repository: repository, index: index).node(at: start, in: chosen.snapshot.tree)
                if output.json {
                    output.emit(.object([("struct_type", .string("snapshot"))] + snapshotFields(chosen.id, chosen.snapshot)))
                } else if !output.quiet {
                    printErr("snapshot \(chosen.id.short) of \(chosen.snapshot.paths) at \(chosen.snapshot.time.utcDisplay):")
                }
                guard node.type == .dir, let subtree = node.subtree else {
                    emit(node, path: display(start), output: output)
                    return
                }
                try await list(subtree, path: start, recursive: dir == nil || recursive, repository: repository, index: index,
                               output: output)
            }
        }
    }

    private func list(_ tree: ID, path: [[UInt8]], recursive: Bool, repository: Repository, index: MasterIndex,
                      output: Output) async throws {
        for node in try await repository.loadTree(tree, index: index).nodes {
            let childPath = path + [node.name]
            emit(node, path: display(childPath), output: output)
            if recursive, node.type == .dir, let subtree = node.subtree {
                try await list(subtree, path: childPath, recursive: true, repository: repository, index: index, output: output)
            }
        }
    }

    private func emit(_ node: Node, path: String, output: Output) {
        if output.json {
            var fields: [(String, JSONValueOut)] = [
                ("name", .string(node.displayName)), ("type", .string(node.type.rawValue)), ("path", .string(path)),
                ("uid", .int(Int64(node.uid))), ("gid", .int(Int64(node.gid))),
            ]
            if let size = node.size { fields.append(("size", .uint(size))) }
            fields += [("mode", .uint(UInt64(node.mode))), ("permissions", .string(modeString(node))),
                       ("mtime", .string(node.mtime.rfc3339)), ("atime", .string(node.atime.rfc3339)),
                       ("ctime", .string(node.ctime.rfc3339))]
            if let target = node.linkTarget { fields.append(("link_target", .string(String(decoding: target, as: UTF8.self)))) }
            fields.append(("struct_type", .string("node")))
            output.emit(.object(fields))
        } else if long {
            let owner = (node.user ?? String(node.uid)) + " " + (node.group ?? String(node.gid))
            var line = "\(modeString(node)) \(owner) \(String(node.size ?? 0).leftPadded(12)) \(node.mtime.utcDisplay) \(path)"
            if let target = node.linkTarget { line += " -> " + String(decoding: target, as: UTF8.self) }
            printOut(line)
        } else {
            printOut(path)
        }
    }
}

func snapshotFields(_ id: ID, _ s: Snapshot) -> [(String, JSONValueOut)] {
    if case .object(let fields) = snapshotJSON(id, s) { return fields }
    return []
}

func modeString(_ node: Node) -> String {
    let kind: Character = switch node.type {
    case .dir: "d"
    case .symlink: "L"
    case .charDevice: "c"
    case .blockDevice: "D"
    case .fifo: "p"
    case .socket: "S"
    default: "-"
    }
    var s = String(kind)
    let m = node.mode
    for (i, c) in "rwxrwxrwx".enumerated() { s.append(m & (1 << (8 - UInt32(i))) != 0 ? c : "-") }
    var chars = Array(s)
    if m & GoFileMode.setuid != 0 { chars[3] = chars[3] == "x" ? "s" : "S" }
    if m & GoFileMode.setgid != 0 { chars[6] = chars[6] == "x" ? "s" : "S" }
    if m & GoFileMode.sticky != 0 { chars[9] = chars[9] == "x" ? "t" : "T" }
    return String(chars)
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
