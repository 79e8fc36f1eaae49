internal import COpenSSL
public import LifeboatCore

/// HMAC-SHA256 (RFC 2104) on the project's SHA-256.
public func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? SHA256.hash(key).bytes : key
    block += [UInt8](repeating: 0, count: 64 - block.count)
    let inner = SHA256()
    inner.update(block.map { $0 ^ 0x36 })
    inner.update(message)
    let outer = SHA256()
    outer.update(block.map { $0 ^ 0x5c })
    outer.update(inner.finalize().bytes)
    return outer.finalize().bytes
}

/// Incremental MD5 for `Content-MD5` (S3 requires it for multi-object delete and Object Lock).
final class MD5 {
    private let context: OpaquePointer

    init() {
        context = EVP_MD_CTX_new()
        let ok = EVP_DigestInit_ex2(context, md5Algorithm, nil)
        precondition(ok == 1, "MD5 is not available in this OpenSSL")
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { _ = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &out, &length)
        return out
    }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let md5 = MD5()
        bytes.withUnsafeBytes { md5.update($0) }
        return md5.finalize()
    }
}

nonisolated(unsafe) private let md5Algorithm = EVP_MD_fetch(nil, "MD5", nil)
