public import LifeboatRepository
import LifeboatCore
import LifeboatHTTP

/// ListObjectsV2 and the combined listing: the repository's directories `index/`, `keys/`,
/// `locks/` and `snapshots/` are adjacent in key order, so one LIST starting after `index`
/// returns all of them. The lock check (which must list right after writing the lock) lists
/// index and snapshots along with the locks for the backup or restore that follows.
extension S3Backend {
    public func list(_ type: FileType, alsoListing: Set<FileType>) async throws -> [(name: String, size: Int)] {
        // Packs are many and sit elsewhere in key order; config is one object.
        let extra = alsoListing.subtracting([type, .pack, .config])
        guard !extra.isEmpty, type != .pack, type != .config else { return try await list(type) }
        let types = extra.union([type]).sorted { $0.rawValue < $1.rawValue }
        let first = types.first!, last = types.last!
        let keys = try await blockingIO { [self] in
            // "0" sorts right after "/": every key under `last/` is below `last0`.
            try listKeys(prefix: client.location.prefix.isEmpty ? "" : client.location.prefix + "/",
                         startAfter: client.location.key(first.rawValue), until: client.location.key(last.rawValue) + "0")
        }
        prefetched.withLock { memo in
            for other in extra { memo[other] = names(keys, type: other) }
        }
        return names(keys, type: type)
    }

    func forgetListing(_ type: FileType) {
        prefetched.withLock { _ = $0.removeValue(forKey: type) }
    }

    /// Keys (and sizes) under `prefix`, after `startAfter`; stops paging once past `until`.
    func listKeys(prefix: String, startAfter: String?, until: String?) throws -> [(key: String, size: Int)] {
        var out: [(key: String, size: Int)] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "1000")]
            if let startAfter { query.append(("start-after", startAfter)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try client.send(S3Client.Call("GET", key: nil, query: query))
            guard let xml = XMLElement.parse(response.body), xml.name == "ListBucketResult" else {
                throw LifeboatError(.backend, "S3 list of \(prefix) in bucket \(client.location.bucket) returned no ListBucketResult")
            }
            for entry in xml.all("Contents") {
                guard let key = entry["Key"], let size = entry["Size"].flatMap({ Int($0) }) else { continue }
                out.append((key, size))
            }
            token = xml["IsTruncated"] == "true" ? xml["NextContinuationToken"] : nil
            if let until, let lastKey = out.last?.key, lastKey >= until { break }
        } while token != nil
        return out
    }

    /// The repository files of `type` among listed keys.
    func names(_ keys: [(key: String, size: Int)], type: FileType) -> [(name: String, size: Int)] {
        if type == .config {
            let config = client.location.key("config")
            return keys.filter { $0.key == config }.map { ("config", $0.size) }
        }
        let prefix = client.location.key(type.rawValue) + "/"
        return keys.compactMap { entry in
            guard entry.key.hasPrefix(prefix) else { return nil }
            let name = String(entry.key.split(separator: "/").last ?? "")
            return name.count == 64 && ID(hex: name) != nil ? (name, entry.size) : nil
        }
    }
}
