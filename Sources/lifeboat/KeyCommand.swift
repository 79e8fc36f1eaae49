import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage the repository's keys (passwords).",
        subcommands: [KeyListCommand.self, KeyAddCommand.self, KeyRemoveCommand.self, KeyPasswdCommand.self])
}

/// `--new-password-file`, else LIFEBOAT_NEW_PASSWORD, else a prompt.
struct NewPasswordOptions: ParsableArguments {
    @Option(name: .customLong("new-password-file"), help: "Read the new password from the first line of this file.")
    var newPasswordFile: String?

    func read() throws -> [UInt8] {
        if let file = newPasswordFile {
            guard let data = readFileBytes(file) else { throw LifeboatError(.invalidArgument, "cannot read the password file \(file)") }
            let line = Array(data.prefix { $0 != 0x0a && $0 != 0x0d })
            guard !line.isEmpty else { throw LifeboatError(.invalidArgument, "the new password file \(file) is empty") }
            return line
        }
        if let env = environment("LIFEBOAT_NEW_PASSWORD"), !env.isEmpty { return Array(env.utf8) }
        throw LifeboatError(.invalidArgument, "no new password given", hint: "pass --new-password-file FILE or set LIFEBOAT_NEW_PASSWORD")
    }
}

struct KeyListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let (keys, current) = try await global.withRepository { r in (try await r.keyFiles(), r.keyName) }
            if output.json {
                output.emit(.array(keys.map { k in .object([
                    ("current", .bool(k.name == current)), ("id", .string(k.name)), ("userName", .string(k.key.username)),
                    ("hostName", .string(k.key.hostname)), ("created", .string(k.key.created.utcDisplay)),
                ]) }))
                return
            }
            var rows = [[" ID", "User", "Host", "Created"]]
            for k in keys {
                rows.append([(k.name == current ? "*" : " ") + String(k.name.prefix(8)), k.key.username, k.key.hostname, k.key.created.utcDisplay])
            }
            printTable(rows)
        }
    }
}

struct KeyAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a key (a new password for the same data).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var newPassword: NewPasswordOptions
    @Option(help: "User name to record in the key.") var user: String?
    @Option(help: "Host name to record in the key.") var host: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let password = try newPassword.read()
            let user = self.user ?? currentUsername(), host = self.host ?? currentHostname()
            let name = try await global.withRepository { try await $0.addKey(password: password, hostname: host, username: user) }
            if output.json { output.emit(.object([("message_type", .string("key_add")), ("id", .string(name))])) }
            else { output.info("saved new key with ID \(name)") }
        }
    }
}

struct KeyRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a key (not the one in use).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The key ID (or a unique prefix).") var id: String

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let prefix = id.lowercased()
            let name = try await global.withRepository(exclusive: true) { r -> String in
                let matches = try await r.backend.list(.key).map(\.name).filter { $0.hasPrefix(prefix) }
                guard matches.count == 1 else {
                    throw LifeboatError(matches.isEmpty ? .notFound : .invalidArgument,
                                        matches.isEmpty ? "no key \(prefix)" : "key prefix \(prefix) is ambiguous",
                                        hint: "list them with `lifeboat key list`")
                }
                try await r.removeKey(matches[0])
                return matches[0]
            }
            if output.json { output.emit(.object([("message_type", .string("key_remove")), ("id", .string(name))])) }
            else { output.info("removed key \(name)") }
        }
    }
}

struct KeyPasswdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Change the password of the key in use.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var newPassword: NewPasswordOptions

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let password = try newPassword.read()
            let name = try await global.withRepository(exclusive: true) { try await $0.changePassword(to: password) }
            if output.json { output.emit(.object([("message_type", .string("key_passwd")), ("id", .string(name))])) }
            else { output.info("saved new key as \(name)") }
        }
    }
}
