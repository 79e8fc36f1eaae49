import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct CatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Print an internal repository object.",
        discussion: "TYPE is config, key, snapshot, index, pack (its header), blob (a data blob's bytes) or tree.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "config | key | snapshot | index | pack | blob | tree")
    var type: String

    @Argument(help: "ID or unique prefix (not for config).")
    var id: String?

    func validate() throws {
        guard ["config", "key", "snapshot", "index", "pack", "blob", "tree"].contains(type) else {
            throw ValidationError("unknown type \(type); use config, key, snapshot, index, pack, blob or tree")
        }
        if type != "config" && id == nil { throw ValidationError("cat \(type) needs an ID") }
    }

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            try await global.withRepository { repository in
                switch type {
                case "config":
                    printOut(String(decoding: repository.config.encoded(), as: UTF8.self))
                case "key":
                    let name = try await resolve(.key, repository)
                    printOut(String(decoding: try await repository.backend.load(FileHandle(.key, name)), as: UTF8.self))
                case "snapshot":
                    let name = try await resolve(.snapshot, repository)
                    printOut(String(decoding: try await repository.loadUnpacked(.snapshot, id: ID(hex: name)!), as: UTF8.self))
                case "index":
                    let name = try await resolve(.index, repository)
                    writeAll(1, try await repository.loadUnpacked(.index, id: ID(hex: name)!))
                case "pack":
                    let name = try await resolve(.pack, repository)
                    let bytes = try await repository.backend.load(FileHandle(.pack, name))
                    let header = try PackReader.header(of: bytes, cipher: Cipher(key: repository.masterKey))
                    output.emit(.array(header.map { e in
                        .object([("type", .string(e.type.rawValue)), ("id", .string(e.id.hex)), ("offset", .uint(UInt64(e.offset))),
                                 ("length", .uint(UInt64(e.length))), ("uncompressed_length", .uint(UInt64(e.uncompressedLength)))])
                    }))
                default:
                    guard let blob = ID(hex: id!) else {
                        throw LifeboatError(.invalidArgument, "a blob ID has 64 hex characters")
                    }
                    let index = try await repository.loadIndex()
                    let bytes = try await repository.loadBlob(blob, type: type == "tree" ? .tree : .data, index: index)
                    writeAll(1, bytes)
                }
            }
        }
    }

    private func resolve(_ fileType: FileType, _ repository: Repository) async throws -> String {
        let prefix = id!.lowercased()
        let matches = try await repository.backend.list(fileType).map(\.name).filter { $0.hasPrefix(prefix) }
        guard matches.count == 1 else {
            throw LifeboatError(matches.isEmpty ? .notFound : .invalidArgument,
                                matches.isEmpty ? "no \(type) with ID \(prefix)" : "\(type) prefix \(prefix) is ambiguous")
        }
        return matches[0]
    }
}
