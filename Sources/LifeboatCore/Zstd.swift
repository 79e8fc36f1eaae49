internal import CZstd

/// zstd compression with a reusable context (`ZSTD_compress2`). One instance per thread.
public final class ZstdCompressor {
    private let context: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        self.level = level
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into one zstd frame with its content size recorded.
    public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { o in
            ZSTD_compress2(context, o.baseAddress, bound, input.baseAddress, input.count)
        }
        precondition(ZSTD_isError(written) == 0, "ZSTD_compress2 failed: \(String(cString: ZSTD_getErrorName(written)))")
        out.removeLast(bound - written)
        return out
    }

    public func compress(_ input: [UInt8]) -> [UInt8] { input.withUnsafeBytes { compress($0) } }
}

/// zstd decompression with a reusable context. One instance per thread.
public final class ZstdDecompressor {
    private let context: OpaquePointer
    /// Refuse to inflate beyond this without a known size (a decompression bomb).
    public static let maxUnknownSize = 1 << 30

    public init() { context = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame whose plaintext length is known (restic's `uncompressed_length`).
    /// - Throws: `.corrupt` if the frame is invalid or its length differs from `expectedSize`.
    public func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: expectedSize)
        let written = out.withUnsafeMutableBytes { o in
            ZSTD_decompressDCtx(context, o.baseAddress, expectedSize, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            throw LifeboatError(.corrupt, "zstd frame is invalid: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written == expectedSize else {
            throw LifeboatError(.corrupt, "zstd frame holds \(written) bytes, expected \(expectedSize)")
        }
        return out
    }

    /// Decompresses one frame of unknown plaintext length, streaming.
    public func decompress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if declared != ZSTD_CONTENTSIZE_UNKNOWN, declared != ZSTD_CONTENTSIZE_ERROR, declared <= UInt64(Self.maxUnknownSize) {
            return try decompress(input, expectedSize: Int(declared))
        }
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 17)
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            let (result, produced) = buffer.withUnsafeMutableBytes { b -> (Int, Int) in
                var outBuffer = ZSTD_outBuffer(dst: b.baseAddress, size: b.count, pos: 0)
                let r = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                return (r, outBuffer.pos)
            }
            if ZSTD_isError(result) != 0 {
                throw LifeboatError(.corrupt, "zstd frame is invalid: \(String(cString: ZSTD_getErrorName(result)))")
            }
            out.append(contentsOf: buffer[0..<produced])
            guard out.count <= Self.maxUnknownSize else {
                throw LifeboatError(.corrupt, "zstd frame inflates beyond \(Self.maxUnknownSize >> 20) MiB")
            }
            if result == 0 { break }
            if inBuffer.pos == inBuffer.size && produced == 0 {
                throw LifeboatError(.corrupt, "zstd frame is truncated")
            }
        }
        return out
    }
}
