import Foundation
import LifeboatCore
import LifeboatRepository

/// A restic repository from `shared/testdata/restic`, unpacked into a fresh temp directory.
///
/// The shared directory is found from this file's path (package root, then
/// `../shared`), or from the environment variable `LIFEBOAT_SHARED`.
struct ResticFixture {
    let root: URL
    let masterKey: CryptoKey
    let cipher: Cipher

    static var sharedDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["LIFEBOAT_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var resticTestdata: URL { sharedDirectory.appendingPathComponent("testdata/restic") }

    /// Unpacks `<name>.tar.gz` (top directory `<name>/`) and reads its master key from MANIFEST.
    init(_ name: String) throws {
        let temp = FileManager.default.temporaryDirectory
            .appendingPathComponent("lifeboat-format-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xzf", Self.resticTestdata.appendingPathComponent("\(name).tar.gz").path, "-C", temp.path]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            throw LifeboatError(.io, "tar failed with status \(tar.terminationStatus) for \(name)")
        }
        root = temp.appendingPathComponent(name)
        masterKey = try Self.manifestMasterKey(repository: "\(name).tar.gz")
        cipher = Cipher(key: masterKey)
    }

    /// The `#   masterkey …: {json}` line that follows `## repository <archive>` in MANIFEST.
    static func manifestMasterKey(repository archive: String) throws -> CryptoKey {
        let manifest = try String(contentsOf: resticTestdata.appendingPathComponent("MANIFEST"), encoding: .utf8)
        var inRepository = false
        for line in manifest.split(separator: "\n") {
            if line.hasPrefix("## repository ") { inRepository = line.hasPrefix("## repository \(archive) ") }
            if inRepository, line.hasPrefix("#   masterkey"), let brace = line.firstIndex(of: "{") {
                return try CryptoKey(masterKeyJSON: Array(line[brace...].utf8))
            }
        }
        throw LifeboatError(.notFound, "MANIFEST has no master key for \(archive)")
    }

    func remove() { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

    func read(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(relative)))
    }

    /// Names of the files in a directory (recursively for `data`), as paths relative to root.
    func list(_ directory: String) throws -> [String] {
        let base = root.appendingPathComponent(directory)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var out: [String] = []
        for case let path as String in walker {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: base.appendingPathComponent(path).path, isDirectory: &isDirectory),
               !isDirectory.boolValue {
                out.append("\(directory)/\(path)")
            }
        }
        return out.sorted()
    }

    /// Opens an index, snapshot or lock file and returns its JSON.
    func openUnpacked(_ relative: String, version: Int) throws -> [UInt8] {
        let plaintext = try cipher.open(read(relative))
        return try UnpackedFile.decode(plaintext, repositoryVersion: version, decompressor: ZstdDecompressor())
    }
}
