/// How new blobs are compressed, named as restic names its `--compression` modes.
///
/// Format version 1 repositories store every blob uncompressed whatever the mode.
public enum Compression: String, Sendable, CaseIterable {
    case off, fastest, auto, better, max

    /// The zstd level, or nil to store blobs uncompressed.
    ///
    /// `auto` is level 2: on 1 MiB chunks of the benchmark data it compresses 20–40 %
    /// faster than level 3 for 0–3 % more stored bytes (docs/performance.md), which still
    /// lands within 2 % of restic's repository size.
    public var zstdLevel: Int32? {
        switch self {
        case .off: nil
        case .fastest: 1
        case .auto: 2
        case .better: 7
        case .max: 19
        }
    }

    /// Parses a mode name, case-insensitively.
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }
}
