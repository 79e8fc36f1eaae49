import LifeboatCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds the repository password the way restic does: --password-command, --password-file,
/// the environment, and finally an interactive prompt on a terminal.
struct PasswordSource {
    let options: GlobalOptions

    func read(confirm: Bool) throws -> [UInt8] {
        let password = try readAny(confirm: confirm)
        // restic refuses empty passwords from every source, and so do we.
        guard !password.isEmpty else {
            throw LifeboatError(.invalidArgument, "an empty password is not allowed",
                                hint: "check the password file, command or variable you gave")
        }
        return password
    }

    private func readAny(confirm: Bool) throws -> [UInt8] {
        // As in restic: two explicit sources are a mistake, not a precedence question.
        if options.passwordCommand != nil && options.passwordFile != nil {
            throw LifeboatError(.invalidArgument, "--password-file and --password-command are mutually exclusive",
                                hint: "give only one of them")
        }
        // A flag beats the environment: --password-file is not overridden by a *_PASSWORD_COMMAND variable.
        let commandFromEnvironment = options.passwordFile != nil ? nil
            : environment("LIFEBOAT_PASSWORD_COMMAND") ?? environment("RESTIC_PASSWORD_COMMAND")
        if let command = options.passwordCommand ?? commandFromEnvironment {
            return try run(command)
        }
        if let file = options.passwordFile ?? environment("LIFEBOAT_PASSWORD_FILE") ?? environment("RESTIC_PASSWORD_FILE") {
            guard let data = readFileBytes(file) else {
                throw LifeboatError(.invalidArgument, "cannot read the password file \(file)")
            }
            return firstLine(data)
        }
        if let password = environment("LIFEBOAT_PASSWORD") ?? environment("RESTIC_PASSWORD") {
            return Array(password.utf8)
        }
        guard isatty(0) == 1 else {
            throw LifeboatError(.invalidArgument, "no password given",
                                hint: "set LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE, or pass --password-file / --password-command")
        }
        let first = try prompt(confirm ? "enter password for new repository: " : "enter password for repository: ")
        if confirm {
            let second = try prompt("enter password again: ")
            guard first == second else { throw LifeboatError(.invalidArgument, "the passwords do not match") }
        }
        guard !first.isEmpty else { throw LifeboatError(.invalidArgument, "an empty password is not allowed") }
        return first
    }

    private func firstLine(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.prefix { $0 != 0x0a && $0 != 0x0d })
    }

    private func run(_ command: String) throws -> [UInt8] {
        let (output, status) = try runShellCommand(command, what: "the password command")
        guard status == 0 else {
            throw LifeboatError(.invalidArgument, "the password command exited with status \(status)")
        }
        return firstLine(output)
    }

    /// Reads a line from the terminal with echo off.
    private func prompt(_ text: String) throws -> [UInt8] {
        writeAll(2, Array(text.utf8))
        var saved = termios()
        let hasTerminal = tcgetattr(0, &saved) == 0
        if hasTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &silent)
        }
        defer {
            if hasTerminal { tcsetattr(0, TCSANOW, &saved) }
            writeAll(2, [0x0a])
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(0, &byte, 1) == 1 && byte != 0x0a { line.append(byte) }
        return line
    }
}

/// The whole content of a file, or nil if it cannot be read.
func readFileBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { return out }
        out += buffer[..<n]
    }
}
