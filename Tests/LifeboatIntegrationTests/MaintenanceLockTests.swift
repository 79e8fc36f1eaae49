import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Maintenance locks", .serialized)
struct MaintenanceLockTests {
    @Test("a second prune fails naming the holder, or waits with --retry-lock")
    func secondPrune() throws {
        try withTempDir("maint-lock") { tmp in
            let (repo, _, _) = try MaintenanceCrashTests.template(tmp, seed: 21)
            let lb = try Lifeboat(repository: repo, password: MaintenanceCrashTests.password)
            // A slowed-down prune holds the exclusive lock for a few seconds.
            let pid = try MaintenanceCrashTests.spawn(["-r", repo, "prune", "--max-unused", "0%"],
                                                      environment: ["LIFEBOAT_PASSWORD": MaintenanceCrashTests.password,
                                                                    "LIFEBOAT_TEST_PRUNE_DELAY_MS": "400"])
            var status: Int32 = 0
            defer { if waitpid(pid, &status, WNOHANG) == 0 { kill(pid, SIGKILL); waitpid(pid, &status, 0) } }
            var waited = 0
            while (try? FileManager.default.contentsOfDirectory(atPath: repo + "/locks"))?.isEmpty ?? true, waited < 200 {
                usleep(50_000); waited += 1
            }
            let second = try lb.run(["prune"])
            #expect(second.status == 11, "\(second)")
            #expect(second.err.contains("PID \(pid)") && second.err.contains(currentHost()), "\(second)")
            let waiting = try lb.run(["prune", "--retry-lock", "2m"])
            #expect(waiting.status == 0, "\(waiting)")
            waitpid(pid, &status, 0)
            #expect(status == 0, "the first prune must finish normally")
        }
    }

    func currentHost() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}
