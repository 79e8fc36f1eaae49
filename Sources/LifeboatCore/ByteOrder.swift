#if canImport(Glibc)
import Glibc
#endif

/// Whether `a` sorts before `b` by raw bytes (restic's order of tree nodes), with `memcmp`:
/// sorting and searching directory entries by name is on the hot path of every backup.
@inlinable
public func bytesPrecede(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            let common = min(pa.count, pb.count)
            let order = common == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, common)
            return order != 0 ? order < 0 : pa.count < pb.count
        }
    }
}
