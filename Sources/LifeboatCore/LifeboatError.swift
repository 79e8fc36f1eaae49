/// The one error type of Lifeboat's libraries.
///
/// `code` decides the exit status and how a caller reacts; `message` names the object that
/// failed; `hint` tells the user what to do next.
public struct LifeboatError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidArgument, repositoryNotFound, repositoryExists, wrongPassword, corrupt,
                 io, notFound, unsupported, locked, partialBackup, interrupted, backend, retained, internalError
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public var description: String { value.rawValue }

        /// The user asked for something that cannot be done as asked.
        public static let invalidArgument = Code(.invalidArgument)
        /// No repository at the given location (exit code 10).
        public static let repositoryNotFound = Code(.repositoryNotFound)
        /// `init` found a repository already there.
        public static let repositoryExists = Code(.repositoryExists)
        /// No key file opens with the password (exit code 12).
        public static let wrongPassword = Code(.wrongPassword)
        /// Stored bytes fail their MAC, hash or structure checks.
        public static let corrupt = Code(.corrupt)
        /// A local file system operation failed.
        public static let io = Code(.io)
        /// A named snapshot, file, blob or path does not exist.
        public static let notFound = Code(.notFound)
        /// The data uses a feature this version does not understand.
        public static let unsupported = Code(.unsupported)
        /// Another process holds a conflicting lock.
        public static let locked = Code(.locked)
        /// A backup completed, but some source files could not be read (exit code 3).
        public static let partialBackup = Code(.partialBackup)
        /// The user interrupted the operation.
        public static let interrupted = Code(.interrupted)
        /// A storage backend failed.
        public static let backend = Code(.backend)
        /// The storage refuses to delete a file still under retention (S3 Object Lock):
        /// prune must keep it and report it, not fail half-way.
        public static let retained = Code(.retained)
        /// A bug: an invariant of Lifeboat itself does not hold.
        public static let internalError = Code(.internalError)
    }

    public var code: Code
    public var message: String
    public var hint: String?
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, hint: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying
    }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        return text
    }
}

extension LifeboatError {
    /// An error from a failed POSIX call, with `errno` read at once.
    public static func posix(_ operation: String, _ path: String, errno code: Int32) -> LifeboatError {
        LifeboatError(.io, "\(operation) \(path): \(String(cString: strerror(code)))")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
