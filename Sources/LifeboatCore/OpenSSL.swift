internal import COpenSSL

// Fetched algorithm objects are immutable and safe to share between threads.
nonisolated(unsafe) let sha256Algorithm = EVP_MD_fetch(nil, "SHA2-256", nil)
nonisolated(unsafe) let aes256CTR = EVP_CIPHER_fetch(nil, "AES-256-CTR", nil)
nonisolated(unsafe) let aes128ECB = EVP_CIPHER_fetch(nil, "AES-128-ECB", nil)
nonisolated(unsafe) let poly1305Algorithm = EVP_MAC_fetch(nil, "POLY1305", nil)

/// Drains OpenSSL's thread-local error queue into one line.
func openSSLErrorText() -> String {
    var parts: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return parts.isEmpty ? "unknown OpenSSL error" : parts.joined(separator: "; ")
}

func checkOpenSSL(_ result: Int32, _ what: String) {
    // These calls fail only on programming errors or allocation failure.
    precondition(result == 1, "\(what) failed: \(openSSLErrorText())")
}

/// Cryptographically secure random bytes (`RAND_bytes`).
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
    precondition(ok == 1, "RAND_bytes failed: \(openSSLErrorText())")
    return out
}
