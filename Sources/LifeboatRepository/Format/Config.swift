public import LifeboatCore

/// The repository's `config` file.
public struct RepositoryConfig: Sendable, Equatable {
    public var version: Int
    public var id: String
    /// Hex of the degree-53 irreducible polynomial, as restic stores it.
    public var chunkerPolynomial: String

    public init(version: Int, id: String, chunkerPolynomial: String) {
        self.version = version
        self.id = id
        self.chunkerPolynomial = chunkerPolynomial
    }
}

/// A `keys/<ID>` file: the master key sealed with a password-derived key.
public struct KeyFile: Sendable, Equatable {
    public var created: Timestamp
    public var username: String
    public var hostname: String
    public var kdf: String
    public var n: UInt64
    public var r: UInt64
    public var p: UInt64
    public var salt: [UInt8]
    public var data: [UInt8]

    public init(created: Timestamp, username: String, hostname: String, kdf: String = "scrypt",
                n: UInt64, r: UInt64, p: UInt64, salt: [UInt8], data: [UInt8]) {
        self.created = created; self.username = username; self.hostname = hostname; self.kdf = kdf
        self.n = n; self.r = r; self.p = p; self.salt = salt; self.data = data
    }
}

/// A `locks/<ID>` file.
public struct LockInfo: Sendable, Equatable {
    public var time: Timestamp
    public var exclusive: Bool
    public var hostname: String
    public var username: String
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(time: Timestamp, exclusive: Bool, hostname: String, username: String, pid: Int32, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.time = time; self.exclusive = exclusive; self.hostname = hostname; self.username = username
        self.pid = pid; self.uid = uid; self.gid = gid
    }
}
