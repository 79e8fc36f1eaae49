internal import COpenSSL

/// Incremental SHA-256 over OpenSSL's EVP interface. One instance per thread; reusable.
public final class SHA256 {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()
        checkOpenSSL(EVP_DigestInit_ex2(context, sha256Algorithm, nil), "EVP_DigestInit_ex2")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        checkOpenSSL(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count), "EVP_DigestUpdate")
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Returns the digest and resets the context for the next message.
    public func finalize() -> ID {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        let id = withUnsafeMutableBytes(of: &digest) { raw -> ID in
            checkOpenSSL(EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length),
                         "EVP_DigestFinal_ex")
            return ID(bytes: UnsafeRawBufferPointer(raw))
        }
        checkOpenSSL(EVP_DigestInit_ex2(context, sha256Algorithm, nil), "EVP_DigestInit_ex2")
        return id
    }

    /// One-shot SHA-256 (`EVP_Digest`).
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> ID {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        return withUnsafeMutableBytes(of: &digest) { raw -> ID in
            let base = bytes.baseAddress ?? UnsafeRawPointer(raw.baseAddress!)
            checkOpenSSL(EVP_Digest(base, bytes.count, raw.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                    &length, sha256Algorithm, nil), "EVP_Digest")
            return ID(bytes: UnsafeRawBufferPointer(raw))
        }
    }

    public static func hash(_ bytes: [UInt8]) -> ID { bytes.withUnsafeBytes { hash($0) } }
    public static func hash(_ bytes: ArraySlice<UInt8>) -> ID { bytes.withUnsafeBytes { hash($0) } }
}
