import Foundation
import LifeboatCore

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
        if let command = options.passwordCommand ?? environment("LIFEBOAT_PASSWORD_COMMAND") ?? environment("RESTIC_PASSWORD_COMMAND") {
            return try run(command)
        }
        if let file = options.passwordFile ?? environment("LIFEBOAT_PASSWORD_FILE") ?? environment("RESTIC_PASSWORD_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw LifeboatError(.invalidArgument, "cannot read the password file \(file)")
            }
            return firstLine(Array(data))
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw LifeboatError(.invalidArgument, "cannot run the password command: \(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LifeboatError(.invalidArgument, "the password command exited with status \(process.terminationStatus)")
        }
        return firstLine(Array(data))
    }

    /// Reads a line from the terminal with echo off.
    private func prompt(_ text: String) throws -> [UInt8] {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        let hasTerminal = tcgetattr(0, &saved) == 0
        if hasTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &silent)
        }
        defer {
            if hasTerminal { tcsetattr(0, TCSANOW, &saved) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(0, &byte, 1) == 1 && byte != 0x0a { line.append(byte) }
        return line
    }
}
