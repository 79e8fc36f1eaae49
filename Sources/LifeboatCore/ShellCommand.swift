#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a command line through `/bin/sh -c` (popen) and collects its standard output, as
/// restic's `--password-command` and kubectl's exec plugins run theirs.
/// - Parameter what: names the command in the error if it cannot be started.
/// - Returns: the output and the exit status.
public func runShellCommand(_ commandLine: String, what: String) throws -> (output: [UInt8], status: Int32) {
    guard let pipe = popen(commandLine, "r") else {
        throw LifeboatError(.invalidArgument, "cannot run \(what): \(String(cString: strerror(errno)))")
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, pipe)
        if n <= 0 { break }
        output += buffer[..<n]
    }
    return (output, pclose(pipe) >> 8)
}
