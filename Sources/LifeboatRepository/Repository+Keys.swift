public import LifeboatCore

/// Key files (restic's `key` command): each seals the same master key with another password.
extension Repository {
    /// Every key file that can be parsed, by name, oldest first.
    public func keyFiles() async throws -> [(name: String, key: KeyFile)] {
        var out: [(name: String, key: KeyFile)] = []
        for entry in try await backend.list(.key) {
            let bytes = try await backend.load(FileHandle(.key, entry.name))
            guard let key = try? KeyFile(decoding: bytes) else { continue }
            out.append((entry.name, key))
        }
        return out.sorted { ($0.key.created, $0.name) < ($1.key.created, $1.name) }
    }

    /// Stores a new key file for `password`; returns its name.
    public func addKey(password: [UInt8], hostname: String = currentHostname(), username: String = currentUsername()) async throws -> String {
        guard !password.isEmpty else {
            throw LifeboatError(.invalidArgument, "an empty password is not a password")
        }
        let file = try Self.makeKeyFile(masterKey: masterKey, password: password, hostname: hostname, username: username)
        let bytes = file.encoded()
        let name = SHA256.hash(bytes).hex
        try await backend.save(FileHandle(.key, name), data: bytes)
        return name
    }

    /// Removes a key file other than the one in use.
    /// - Throws: `.invalidArgument` for the current key, `.notFound` for an unknown one.
    public func removeKey(_ name: String) async throws {
        guard name != keyName else {
            throw LifeboatError(.invalidArgument, "refusing to remove key \(name.prefix(8)), the key currently used",
                                hint: "open the repository with another key's password to remove this one")
        }
        guard try await backend.exists(FileHandle(.key, name)) else {
            throw LifeboatError(.notFound, "no key \(name.prefix(8)) in \(location)", hint: "list them with `lifeboat key list`")
        }
        try await backend.remove(FileHandle(.key, name))
    }

    /// Replaces the key in use with one for `password` (new key first, then the old one goes).
    public func changePassword(to password: [UInt8]) async throws -> String {
        let name = try await addKey(password: password)
        try await backend.remove(FileHandle(.key, keyName))
        return name
    }
}
