#if canImport(Glibc)
import Glibc
#endif
import LifeboatCore
import LifeboatRepository

/// Reading and writing extended attributes by path.
enum ExtendedAttributes {
    /// The attributes of `path` itself (not following a symlink), sorted by name.
    ///
    /// Listing failures meaning "no xattr support here" (`ENOTSUP`, `EPERM`) give an empty
    /// list; an attribute that vanishes or cannot be read is skipped, as are names that are
    /// not UTF-8 (`Node.ExtendedAttribute.name` is a `String`).
    /// - Throws: `.io` for other listing failures.
    static func read(_ path: RawPath) throws -> [Node.ExtendedAttribute] {
        guard let llistxattr = Linux.llistxattr, let lgetxattr = Linux.lgetxattr else { return [] }
        return try withCString(path.bytes) { cPath in
            var list: [CChar] = []
            while true {
                let (needed, code) = retryingEINTR { llistxattr(cPath, nil, 0) }
                if needed < 0 {
                    if code == ENOTSUP || code == EPERM { return [] }
                    throw LifeboatError.posix("llistxattr", path.display, errno: code)
                }
                if needed == 0 { return [] }
                list = [CChar](repeating: 0, count: needed)
                let (got, code2) = retryingEINTR { list.withUnsafeMutableBufferPointer { llistxattr(cPath, $0.baseAddress, needed) } }
                if got >= 0 { list.removeLast(list.count - got); break }
                if code2 == ERANGE { continue } // grew in between
                if code2 == ENOTSUP || code2 == EPERM { return [] }
                throw LifeboatError.posix("llistxattr", path.display, errno: code2)
            }
            var attributes: [Node.ExtendedAttribute] = []
            for rawName in list.split(separator: 0, omittingEmptySubsequences: true) {
                let nameBytes = rawName.map { UInt8(bitPattern: $0) }
                guard let name = String(validating: nameBytes, as: UTF8.self),
                      let value = readValue(cPath, Array(rawName) + [0], lgetxattr) else { continue }
                attributes.append(Node.ExtendedAttribute(name: name, value: value))
            }
            attributes.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            return attributes
        }
    }

    private static func readValue(_ cPath: UnsafePointer<CChar>, _ cName: [CChar], _ lgetxattr: Linux.GetXattr) -> [UInt8]? {
        for _ in 0..<4 {
            let (size, _) = retryingEINTR { lgetxattr(cPath, cName, nil, 0) }
            if size < 0 { return nil }
            if size == 0 { return [] }
            var value = [UInt8](repeating: 0, count: size)
            let (got, code) = retryingEINTR { value.withUnsafeMutableBytes { lgetxattr(cPath, cName, $0.baseAddress, size) } }
            if got >= 0 { return Array(value[..<got]) }
            if code != ERANGE { return nil }
        }
        return nil
    }

    /// Sets `attribute` on the file an `O_PATH` descriptor refers to, through
    /// `/proc/self/fd/N`: `fsetxattr` refuses `O_PATH` descriptors, and opening the file
    /// for real could block (FIFOs) or have side effects (devices).
    /// - Returns: the `errno` of a failure, or 0.
    static func set(_ attribute: Node.ExtendedAttribute, onDescriptor fd: Int32) -> Int32 {
        guard let setxattr = Linux.setxattr else { return ENOTSUP }
        let procPath = Array("/proc/self/fd/\(fd)".utf8CString)
        let name = Array(attribute.name.utf8CString)
        let (_, code) = retryingEINTR {
            attribute.value.withUnsafeBytes { setxattr(procPath, name, $0.baseAddress, $0.count, 0) }
        }
        return code
    }

    /// Sets `attribute` on `path` itself (not following a symlink). Wraps `lsetxattr`.
    /// - Returns: the `errno` of a failure, or 0.
    static func set(_ attribute: Node.ExtendedAttribute, path: RawPath) -> Int32 {
        guard let lsetxattr = Linux.lsetxattr else { return ENOTSUP }
        let name = Array(attribute.name.utf8CString)
        let result = try? withCString(path.bytes) { cPath in
            retryingEINTR { attribute.value.withUnsafeBytes { lsetxattr(cPath, name, $0.baseAddress, $0.count, 0) } }.errno
        }
        return result ?? EINVAL
    }

    /// Sets `attribute` on a file opened for writing. Wraps `fsetxattr`.
    /// - Returns: 0, or the `errno` of the failure.
    static func set(_ attribute: Node.ExtendedAttribute, onOpenFile fd: Int32) -> Int32 {
        guard let fsetxattr = Linux.fsetxattr else { return ENOTSUP }
        let result = attribute.name.withCString { name in
            attribute.value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
        }
        return result == 0 ? 0 : errno
    }
}
