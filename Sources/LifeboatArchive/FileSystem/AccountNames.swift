#if canImport(Glibc)
import Glibc
#endif

/// Caches user and group names by id (`getpwuid_r`, `getgrgid_r`); not thread-safe.
final class AccountNames {
    private var users: [UInt32: String?] = [:]
    private var groups: [UInt32: String?] = [:]

    /// The user name of `uid`, or nil if it has none.
    func user(_ uid: UInt32) -> String? {
        if let cached = users[uid] { return cached }
        let name = Self.lookup { buffer, size in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let rc = getpwuid_r(uid_t(uid), &entry, buffer, size, &result)
            return (rc, result == nil ? nil : String(cString: entry.pw_name))
        }
        users[uid] = name
        return name
    }

    /// The group name of `gid`, or nil if it has none.
    func group(_ gid: UInt32) -> String? {
        if let cached = groups[gid] { return cached }
        let name = Self.lookup { buffer, size in
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<group>?
            let rc = getgrgid_r(gid_t(gid), &entry, buffer, size, &result)
            return (rc, result == nil ? nil : String(cString: entry.gr_name))
        }
        groups[gid] = name
        return name
    }

    /// Runs a `get*_r` call, growing its scratch buffer while it reports `ERANGE`.
    private static func lookup(_ call: (UnsafeMutablePointer<CChar>, Int) -> (Int32, String?)) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let (rc, name) = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, size) }
            if rc == ERANGE { size *= 4; continue }
            return rc == 0 ? name : nil
        }
        return nil
    }
}
