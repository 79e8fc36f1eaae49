internal import CZstd

/// zstd compression with a reusable context (`ZSTD_compress2`). One instance per thread.
public final class ZstdCompressor {
    fileprivate let context: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 3) {
        self.level = level
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // Frames read their input in place (`ZstdFrame` keeps it fixed until done): no copy
        // of every byte into a window buffer as large as the chunk, which is also 8 MiB less
        // memory per worker. Experimental in zstd.h, but the shared library has taken it
        // since 1.4.5; refused (older library), zstd copies as before.
        ZSTD_CCtx_setParameter(context, ZSTD_c_experimentalParam9, 1)  // ZSTD_c_stableInBuffer
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

    /// Compresses `input` into `output` after its first `offset` bytes, reusing its storage;
    /// afterwards `output.count` is `offset` plus the frame length.
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], at offset: Int) {
        let bound = ZSTD_compressBound(input.count)
        let needed = offset + bound
        if output.count < needed { output.append(contentsOf: repeatElement(0, count: needed - output.count)) }
        let written = output.withUnsafeMutableBytes { o in
            ZSTD_compress2(context, o.baseAddress! + offset, bound, input.baseAddress, input.count)
        }
        precondition(ZSTD_isError(written) == 0, "ZSTD_compress2 failed: \(String(cString: ZSTD_getErrorName(written)))")
        output.removeLast(output.count - offset - written)
    }
}

extension ZstdCompressor {
    /// Starts one frame over `input`, to be compressed straight into the caller's buffers
    /// with `ZstdFrame.compress(into:)`. `input` must stay valid until the frame is done.
    public func frame(_ input: UnsafeRawBufferPointer) -> ZstdFrame {
        ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
        // A known size goes into the frame header and lets zstd size its window to the input.
        ZSTD_CCtx_setPledgedSrcSize(context, UInt64(input.count))
        return ZstdFrame(compressor: self, input: input)
    }

    /// Compresses `input` as one frame, handing the output to `sink` in pieces of at most
    /// `pieceSize` bytes (the piece buffer is reused; `sink` may modify it in place).
    public func compress(_ input: UnsafeRawBufferPointer, pieceSize: Int = 256 << 10,
                         into piece: inout [UInt8], sink: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        if piece.count < pieceSize { piece = [UInt8](repeating: 0, count: pieceSize) }
        var frame = frame(input)
        while !frame.isDone {
            try piece.withUnsafeMutableBytes { out in
                let produced = frame.compress(into: UnsafeMutableRawBufferPointer(rebasing: out[0..<pieceSize]))
                if produced > 0 { try sink(UnsafeMutableRawBufferPointer(rebasing: out[0..<produced])) }
            }
        }
    }
}

/// One zstd frame being compressed into buffers that the caller lends piece by piece (a
/// pack's write buffer): no intermediate copy of the output.
public struct ZstdFrame {
    private let compressor: ZstdCompressor
    private let input: UnsafeRawBufferPointer
    private var consumed = 0
    public private(set) var isDone = false

    fileprivate init(compressor: ZstdCompressor, input: UnsafeRawBufferPointer) {
        self.compressor = compressor
        self.input = input
    }

    /// Writes as much of the frame into `output` as fits (zstd compresses straight into it
    /// when a whole block fits, else through its own buffer).
    /// - Returns: the bytes written; `isDone` once the frame is complete.
    public mutating func compress(into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(!isDone && output.count > 0)
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: consumed)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(compressor.context, &outBuffer, &inBuffer, ZSTD_e_end)
        precondition(ZSTD_isError(remaining) == 0, "ZSTD_compressStream2 failed: \(String(cString: ZSTD_getErrorName(remaining)))")
        consumed = inBuffer.pos
        isDone = remaining == 0
        return outBuffer.pos
    }
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

    /// Like `decompress(_:expectedSize:)`, into `buffer`, reusing its storage (it only grows);
    /// the plaintext is `buffer[0..<expectedSize]`.
    public func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int, into buffer: inout [UInt8]) throws {
        if buffer.count < expectedSize { buffer.append(contentsOf: repeatElement(0, count: expectedSize - buffer.count)) }
        let written = buffer.withUnsafeMutableBytes { o in
            ZSTD_decompressDCtx(context, o.baseAddress, expectedSize, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            throw LifeboatError(.corrupt, "zstd frame is invalid: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written == expectedSize else {
            throw LifeboatError(.corrupt, "zstd frame holds \(written) bytes, expected \(expectedSize)")
        }
    }

    /// Decompresses one frame of known plaintext length through `window`, handing each
    /// filled piece to `body` in order: the plaintext is never whole in memory.
    /// - Throws: `.corrupt` if the frame is invalid or its length differs from `expectedSize`
    ///   (it stops as soon as the frame gives more); what `body` throws.
    public func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int, through window: UnsafeMutableRawBufferPointer,
                           _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(window.count > 0)
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var produced = 0
        while true {
            var outBuffer = ZSTD_outBuffer(dst: window.baseAddress, size: window.count, pos: 0)
            let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(result) != 0 {
                throw LifeboatError(.corrupt, "zstd frame is invalid: \(String(cString: ZSTD_getErrorName(result)))")
            }
            produced += outBuffer.pos
            guard produced <= expectedSize else {
                throw LifeboatError(.corrupt, "zstd frame holds more than the expected \(expectedSize) bytes")
            }
            if outBuffer.pos > 0 { try body(UnsafeRawBufferPointer(rebasing: window[0..<outBuffer.pos])) }
            if result == 0 { break }  // the frame is complete
            if inBuffer.pos == inBuffer.size && outBuffer.pos < outBuffer.size {
                throw LifeboatError(.corrupt, "zstd frame is truncated")
            }
        }
        guard produced == expectedSize else {
            throw LifeboatError(.corrupt, "zstd frame holds \(produced) bytes, expected \(expectedSize)")
        }
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
