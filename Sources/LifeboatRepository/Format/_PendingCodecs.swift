// Temporary declarations of the codec API being written on the `format` branch; removed at merge.
public import LifeboatCore
extension Tree { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension Snapshot { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension IndexFile { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension RepositoryConfig { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension KeyFile { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension LockInfo { public func encoded() -> [UInt8] { fatalError() }; public init(decoding bytes: [UInt8]) throws { fatalError() } }
extension CryptoKey { public func masterKeyJSON() -> [UInt8] { fatalError() }; public init(masterKeyJSON: [UInt8]) throws { fatalError() } }
public struct PackBlobEntry: Sendable, Equatable { public var type: BlobType; public var length: UInt32; public var uncompressedLength: UInt32; public var id: ID; public var offset: UInt32 }
public enum PackHeader { public static func encode(_ entries: [PackBlobEntry]) -> [UInt8] { fatalError() }; public static func decode(_ plaintext: [UInt8]) throws -> [PackBlobEntry] { fatalError() }; public static func entrySize(compressed: Bool) -> Int { fatalError() } }
public enum UnpackedFile { public static func encode(json: [UInt8], repositoryVersion: Int, compressor: ZstdCompressor) -> [UInt8] { fatalError() }; public static func decode(_ plaintext: [UInt8], repositoryVersion: Int, decompressor: ZstdDecompressor) throws -> [UInt8] { fatalError() } }
extension Timestamp { public var rfc3339: String { fatalError() }; public init?(rfc3339: String) { fatalError() }; public static func now() -> Timestamp { fatalError() }; public var utcDisplay: String { fatalError() } }
public enum GoQuote { public static func quote(_ name: [UInt8]) -> String { fatalError() }; public static func unquote(_ text: String) throws -> [UInt8] { fatalError() } }
