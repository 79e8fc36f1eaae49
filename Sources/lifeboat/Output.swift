import ArgumentParser
import LifeboatCore
import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// Where text goes: data to stdout, messages and progress to stderr, nothing but errors
/// with --quiet, JSON only with --json.
struct Output: Sendable {
    var json: Bool
    var quiet: Bool
    var verbose: Bool

    /// Progress is drawn only for a person watching a terminal.
    var showsProgress: Bool { !json && !quiet && isatty(2) == 1 }

    func info(_ text: String) { if !quiet && !json { printOut(text) } }
    func detail(_ text: String) { if verbose && !json { printErr(text) } }
    func warning(_ text: String) { if !json { printErr("warning: " + text) } }
    func emit(_ value: JSONValueOut) { printOut(value.serialized) }
}

func printOut(_ text: String) {
    var line = text
    line.append("\n")
    writeAll(1, Array(line.utf8))
}

func printErr(_ text: String) {
    var line = text
    line.append("\n")
    writeAll(2, Array(line.utf8))
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var done = 0
    bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

/// Maps errors to restic's exit codes and prints them for people (or as JSON).
enum ExitStatus {
    static func code(for error: LifeboatError) -> Int32 {
        switch error.code {
        case .partialBackup: return 3
        case .repositoryNotFound: return 10
        case .locked: return 11
        case .wrongPassword: return 12
        case .interrupted: return 130
        default: return 1
        }
    }
}

/// Runs a command body; turns library errors into a message and an exit code.
func runCommand(_ output: Output, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as LifeboatError {
        report(error, output: output)
        throw ExitCode(ExitStatus.code(for: error))
    } catch let error as ExitCode {
        throw error
    } catch is CancellationError {
        printErr("error: interrupted")
        throw ExitCode(130)
    } catch {
        printErr("error: \(error)")
        throw ExitCode(1)
    }
}

func report(_ error: LifeboatError, output: Output) {
    if output.json {
        var fields: [(String, JSONValueOut)] = [("message_type", .string("exit_error")), ("code", .int(Int64(ExitStatus.code(for: error)))),
                                                ("message", .string(error.message))]
        if let hint = error.hint { fields.append(("hint", .string(hint))) }
        printErr(JSONValueOut.object(fields).serialized)
        return
    }
    printErr("error: \(error.description)")
    if let hint = error.hint { printErr("hint: \(hint)") }
}

/// A small JSON value for command output (key order as given).
indirect enum JSONValueOut: Sendable {
    case object([(String, JSONValueOut)])
    case array([JSONValueOut])
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case null
    /// Already-serialized JSON, inserted as is.
    case raw(String)

    var serialized: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValueOut.string(k).write(into: &out)
                out += ":"
                v.write(into: &out)
            }
            out += "}"
        case .array(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .string(let s):
            out += "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    out += "\\u00" + String(repeating: "0", count: scalar.value < 16 ? 1 : 0) + String(scalar.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            out += "\""
        case .int(let v): out += String(v)
        case .uint(let v): out += String(v)
        case .double(let v): out += v.isFinite ? String(v) : "null"
        case .bool(let v): out += v ? "true" : "false"
        case .null: out += "null"
        case .raw(let s): out += s
        }
    }
}

enum Format {
    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : fixed(value, decimals: 3) + " " + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
    }

    /// `value` rounded to `decimals` places, without Foundation's formatter.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return decimals == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }

    /// A fraction as a percentage right-aligned in six columns, like "  5.0%".
    static func percent(_ fraction: Double) -> String {
        let text = fixed(fraction * 100, decimals: 1) + "%"
        return String(repeating: " ", count: max(0, 6 - text.count)) + text
    }

    static func rate(_ count: UInt64, _ seconds: Double) -> String {
        seconds > 0 ? bytes(UInt64(Double(count) / seconds)) + "/s" : "-"
    }
}

/// Redraws one status line on stderr every quarter second while `body` runs.
func withProgress<T: Sendable>(_ output: Output, line: @escaping @Sendable (Double) -> String,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    guard output.showsProgress else { return try await body() }
    let start = Timestamp.now()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 250_000_000)
                let now = Timestamp.now()
                let elapsed = Double(now.seconds - start.seconds) + Double(now.nanoseconds - start.nanoseconds) / 1e9
                var text = line(elapsed)
                let width = terminalWidth()
                if text.count > width - 1 { text = String(text.prefix(width - 1)) }
                writeAll(2, Array(("\r\u{1b}[2K" + text).utf8))
            }
            return nil
        }
        let result = try await body()
        group.cancelAll()
        while let _ = try await group.next() {}
        writeAll(2, Array("\r\u{1b}[2K".utf8))
        return result
    }
}

func terminalWidth() -> Int {
    var size = winsize()
    if ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
    return 80
}
