import Foundation

/// The final `{"message_type":"summary",...}` line of `backup --json` (restic's format,
/// which lifeboat follows).
struct BackupSummary: CustomStringConvertible {
    let filesNew: Int
    let filesChanged: Int
    let filesUnmodified: Int
    let dirsNew: Int
    let dirsChanged: Int
    let dirsUnmodified: Int
    let snapshotID: String?

    struct Missing: Error, CustomStringConvertible { let description: String }

    init(_ result: ProcessResult) throws {
        for line in result.out.split(separator: "\n").reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["message_type"] as? String == "summary" else { continue }
            func int(_ key: String) throws -> Int {
                guard let n = object[key] as? Int else { throw Missing(description: "backup summary without \(key): \(line)") }
                return n
            }
            filesNew = try int("files_new")
            filesChanged = try int("files_changed")
            filesUnmodified = try int("files_unmodified")
            dirsNew = try int("dirs_new")
            dirsChanged = try int("dirs_changed")
            dirsUnmodified = try int("dirs_unmodified")
            snapshotID = object["snapshot_id"] as? String
            return
        }
        throw Missing(description: "no summary line in the backup --json output: \(result)")
    }

    var description: String {
        "files new \(filesNew) changed \(filesChanged) unmodified \(filesUnmodified), dirs new \(dirsNew) changed \(dirsChanged) unmodified \(dirsUnmodified)"
    }
}
