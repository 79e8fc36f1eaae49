public import LifeboatCore
public import LifeboatHTTP
public import LifeboatRepository
#if canImport(Glibc)
import Glibc
#endif

/// A repository in an S3 bucket, laid out as restic's S3 backend lays it out
/// (`PREFIX/config`, `PREFIX/keys/ID`, `PREFIX/data/3f/ID`, …).
///
/// Every call runs its blocking HTTP request on a `blockingIO` thread; up to `connections`
/// requests run at once (the repository's upload queue and loaders respect that number).
public struct S3Backend: Backend {
    public let client: S3Client
    public var location: String { client.location.display }
    public var connections: Int { client.options.connections }
    public var combinesListings: Bool { true }
    public let spoolDirectory: String
    /// The config, fetched whole by `size(.config)` (a GET of ~150 bytes instead of a HEAD),
    /// so the `load(.config)` that follows costs no request.
    private let config = Locked<[UInt8]?>(nil)
    /// Listings taken along with another (`list(_:alsoListing:)`), each for one later `list`.
    let prefetched = Locked<[FileType: [(name: String, size: Int)]]>([:])

    public init(client: S3Client, spoolDirectory: String) {
        self.client = client
        self.spoolDirectory = spoolDirectory
    }

    private var s3: S3Location { client.location }

    // MARK: - Bucket

    /// Creates the bucket when it is missing (with Object Lock enabled when retention is
    /// configured); an existing bucket is used as it is.
    public func create() async throws {
        try await blockingIO { [client, s3] in
            try makeSpool()
            if try bucketExists() { return }
            var body = ""
            if client.signer.region != "us-east-1" {
                body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(client.signer.region)</LocationConstraint></CreateBucketConfiguration>"
            }
            var headers: [HTTPHeader] = []
            if client.options.objectLock != nil { headers.append(HTTPHeader("x-amz-bucket-object-lock-enabled", "true")) }
            let bytes = Array(body.utf8)
            do {
                _ = try client.send(S3Client.Call("PUT", key: nil, headers: headers, body: bytes.isEmpty ? .empty : .bytes(bytes),
                                                  payloadHash: SHA256.hash(bytes).hex))
            } catch let error as LifeboatError where error.message.contains("BucketAlreadyOwnedByYou") {
                return
            }
            _ = s3
        }
    }

    /// Whether the bucket exists (to tell a missing bucket from an empty one in messages).
    public func bucketExists() async throws -> Bool {
        try await blockingIO { [self] in try bucketExists() }
    }

    /// HEAD on the bucket: true if it exists, false on 404, an error otherwise.
    func bucketExists() throws -> Bool {
        do {
            _ = try client.send(S3Client.Call("HEAD", key: nil))
            return true
        } catch let error as LifeboatError where error.code == .notFound || error.code == .repositoryNotFound {
            return false
        }
    }

    // MARK: - Writing

    public func save(_ handle: FileHandle, data: [UInt8]) async throws {
        forgetListing(handle.type)
        try await blockingIO { [self] in
            try put(handle, body: .bytes(data), sha256: SHA256.hash(data), md5: MD5.hash(data))
        }
    }

    public func save(_ handle: FileHandle, spooled: SpooledFile) async throws {
        forgetListing(handle.type)
        try await blockingIO { [self] in
            // The spool file is ours from here on, uploaded or not.
            defer { unlink(spooled.path) }
            // A pack's name is the SHA-256 of its bytes: no second pass over the file unless
            // Object Lock needs Content-MD5. S3 rejects the upload if the bytes do not match.
            let needsMD5 = client.options.objectLock != nil
            if handle.type == .pack, let id = ID(hex: handle.name), !needsMD5 {
                try put(handle, body: .file(path: spooled.path, offset: 0, length: spooled.size), sha256: id, md5: nil)
                return
            }
            let (hash, md5) = try hashFile(spooled.path, size: spooled.size)
            try put(handle, body: .file(path: spooled.path, offset: 0, length: spooled.size), sha256: hash, md5: md5)
        }
    }

    private func put(_ handle: FileHandle, body: HTTPBody, sha256: ID, md5: [UInt8]?) throws {
        // The signed payload hash (x-amz-content-sha256) makes S3 verify the body;
        // x-amz-checksum-sha256 stores that checksum with the object; Content-MD5 is what
        // Object Lock requires.
        var headers = [HTTPHeader("Content-Type", "application/octet-stream"),
                       HTTPHeader("x-amz-checksum-sha256", Base64.encode(sha256.bytes))]
        if let md5 { headers.append(HTTPHeader("Content-MD5", Base64.encode(md5))) }
        if let lock = client.options.objectLock, handle.type == .pack || handle.type == .index || handle.type == .snapshot {
            let until = Timestamp(seconds: Timestamp.now().seconds + Int64(lock.days) * 86_400).rfc3339
            headers.append(HTTPHeader("x-amz-object-lock-mode", lock.mode.rawValue))
            headers.append(HTTPHeader("x-amz-object-lock-retain-until-date", until))
        }
        _ = try client.send(S3Client.Call("PUT", key: s3.key(handle.path), headers: headers, body: body, payloadHash: sha256.hex))
    }

    // MARK: - Reading

    public func load(_ handle: FileHandle, offset: Int, length: Int?) async throws -> [UInt8] {
        try await blockingIO { [self] in try loadBlocking(handle, offset: offset, length: length) }
    }

    /// A ranged GET on the calling (pipeline) thread.
    public func loadBlocking(_ handle: FileHandle, offset: Int, length: Int?) throws -> [UInt8] {
        if handle.type == .config, offset == 0, length == nil, let bytes = config.withLock({ $0 }) { return bytes }
        do {
            var headers: [HTTPHeader] = []
            if let length {
                if length == 0 { return [] }
                headers.append(HTTPHeader("Range", "bytes=\(offset)-\(offset + length - 1)"))
            } else if offset > 0 {
                headers.append(HTTPHeader("Range", "bytes=\(offset)-"))
            }
            var out: [UInt8] = []
            if let length { out.reserveCapacity(length) }
            let response = try client.send(S3Client.Call("GET", key: s3.key(handle.path), headers: headers),
                                           onRetry: { out.removeAll(keepingCapacity: true) }) { out.append(contentsOf: $0) }
            if let length, out.count != length {
                throw LifeboatError(.corrupt, "\(handle) is shorter than expected: wanted \(length) bytes at \(offset), got \(out.count)")
            }
            if offset > 0 && length == nil && response.status == 200 {
                // A server that ignores Range sends the whole object.
                return Array(out.dropFirst(offset))
            }
            return out
        } catch let error as LifeboatError where error.code == .notFound {
            throw LifeboatError(.notFound, "\(handle) does not exist in the repository")
        }
    }

    public func size(_ handle: FileHandle) async throws -> Int {
        try await blockingIO { [self] in
            do {
                if handle.type == .config {
                    let bytes: [UInt8]
                    do {
                        bytes = try loadBlocking(handle, offset: 0, length: nil)
                    } catch let error as LifeboatError where error.code == .repositoryNotFound {
                        // No bucket, so no config; the caller explains (or `init` creates it).
                        throw LifeboatError(.notFound, "\(handle) does not exist in the repository")
                    }
                    config.withLock { $0 = bytes }
                    return bytes.count
                }
                let response = try client.send(S3Client.Call("HEAD", key: s3.key(handle.path)))
                return Int(response.header("content-length") ?? "") ?? 0
            } catch let error as LifeboatError where error.code == .notFound {
                throw LifeboatError(.notFound, "\(handle) does not exist in the repository")
            }
        }
    }

    public func list(_ type: FileType) async throws -> [(name: String, size: Int)] {
        if let listed = prefetched.withLock({ $0.removeValue(forKey: type) }) { return listed }
        return try await blockingIO { [self] in
            let prefix = type == .config ? s3.key("config") : s3.key(type.rawValue) + "/"
            return names(try listKeys(prefix: prefix, startAfter: nil, until: nil), type: type)
        }
    }

    // MARK: - Deleting

    public func remove(_ handle: FileHandle) async throws {
        forgetListing(handle.type)
        try await blockingIO { [self] in
            do {
                _ = try client.send(S3Client.Call("DELETE", key: s3.key(handle.path)))
            } catch let error as LifeboatError where error.code == .notFound {
                return
            }
        }
    }

    /// Deletes up to 1000 files per request (DeleteObjects). Returns the files S3 refused to
    /// delete with their errors; files under Object Lock retention come back as `.retained`.
    public func remove(_ handles: [FileHandle]) async throws -> [(FileHandle, LifeboatError)] {
        for type in Set(handles.map(\.type)) { forgetListing(type) }
        var failures: [(FileHandle, LifeboatError)] = []
        var start = 0
        while start < handles.count {
            let batch = Array(handles[start..<min(handles.count, start + 1000)])
            start += batch.count
            failures += try await blockingIO { [self] in try deleteBatch(batch) }
        }
        return failures
    }

    private func deleteBatch(_ batch: [FileHandle]) throws -> [(FileHandle, LifeboatError)] {
        var body = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        var byKey: [String: FileHandle] = [:]
        for handle in batch {
            let key = s3.key(handle.path)
            byKey[key] = handle
            body += "<Object><Key>\(xmlEscape(key))</Key></Object>"
        }
        body += "</Delete>"
        let bytes = Array(body.utf8)
        let response = try client.send(S3Client.Call("POST", key: nil, query: [("delete", "")],
                                                     headers: [HTTPHeader("Content-MD5", Base64.encode(MD5.hash(bytes))),
                                                               HTTPHeader("Content-Type", "application/xml")],
                                                     body: .bytes(bytes), payloadHash: SHA256.hash(bytes).hex))
        guard let xml = XMLElement.parse(response.body) else { return [] }
        return xml.all("Error").compactMap { error in
            guard let key = error["Key"], let handle = byKey[key] else { return nil }
            let code = error["Code"] ?? "", message = error["Message"] ?? ""
            if code == "AccessDenied" && message.lowercased().contains("lock") || code == "ObjectLocked" {
                return (handle, LifeboatError(.retained, "\(handle) is under S3 Object Lock retention"))
            }
            return (handle, LifeboatError(.backend, "S3 refused to delete s3://\(s3.bucket)/\(key): \(code) \(message)"))
        }
    }

    // MARK: - Local helpers

    private func makeSpool() throws {
        if mkdir(spoolDirectory, 0o700) != 0 && errno != EEXIST {
            throw LifeboatError.posix("cannot create spool directory", spoolDirectory, errno: errno)
        }
    }

    private func hashFile(_ path: String, size: Int) throws -> (ID, [UInt8]) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LifeboatError.posix("cannot open", path, errno: errno) }
        defer { close(fd) }
        let sha = SHA256(), md5 = MD5()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var done = 0
        while done < size {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, size - done), off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LifeboatError(.io, "\(path) is shorter than its \(size) bytes") }
            buffer.withUnsafeBytes { raw in
                let part = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                sha.update(part)
                md5.update(part)
            }
            done += n
        }
        return (sha.finalize(), md5.finalize())
    }
}
