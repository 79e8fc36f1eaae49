import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatKubernetes
import LifeboatArchive

struct K8sBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the objects of a cluster (or of manifests in a directory) into a snapshot.",
        discussion: """
            Every listable resource found through discovery is listed (paged, several at a time) and each object is
            stored as one JSON file: /kubernetes/CLUSTER/resources/RESOURCE.GROUP/namespaces/NS/NAME.json.
            Resources the server forbids (403) are skipped with a warning; the snapshot is still saved and the exit code is 3.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var kube: KubeOptions
    @OptionGroup var filter: K8sFilterOptions

    @Option(name: .customLong("cluster-name"), help: "Name of the cluster in the snapshot (default: the kubeconfig cluster name).")
    var clusterName: String?

    @Option(help: "Add a tag to the snapshot (repeatable).")
    var tag: [String] = []

    @Option(name: .customLong("from-dir"), help: "Back up the YAML/JSON manifests in this directory instead of a cluster.")
    var fromDir: String?

    @Option(help: "Lists in flight at once.")
    var concurrency: Int = 8

    @Option(name: .customLong("page-size"), help: "Objects per list page (limit).")
    var pageSize: Int = 500

    @Flag(name: [.short, .customLong("dry-run")], help: "Do everything but write to the repository.")
    var dryRun = false

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let filters = try filter.filters()
            let tags = tag.flatMap { $0.split(separator: ",").map(String.init) }
            let compression = try global.compressionMode()
            let result: KubernetesBackup.Result
            if let fromDir {
                let cluster = KubernetesBackup.sanitize(clusterName: clusterName ?? "manifests")
                result = try await global.withRepository { repository in
                    try await KubernetesBackup.fromDirectory(fromDir, repository: repository, cluster: cluster, filters: filters,
                                                             tags: tags, dryRun: dryRun, compression: compression)
                }
            } else {
                let client = try kube.client()
                let cluster = KubernetesBackup.sanitize(clusterName: clusterName ?? client.connection.clusterName)
                let (concurrency, pageSize, dryRun) = (max(1, concurrency), max(1, pageSize), dryRun)
                result = try await global.withRepository { repository in
                    let parent = try await repository.readableSnapshots().snapshots
                        .filter { $0.snapshot.paths == ["/kubernetes/\(cluster)"] }
                        .max { $0.snapshot.time < $1.snapshot.time }?.id
                    return try await KubernetesBackup.fromCluster(client: client, repository: repository, cluster: cluster, filters: filters,
                                                                  tags: tags, dryRun: dryRun, concurrency: concurrency, pageSize: pageSize,
                                                                  parent: parent, compression: compression)
                }
            }
            render(result, output: output)
            if !result.report.skipped.isEmpty {
                throw LifeboatError(.partialBackup, "\(result.report.skipped.count) resource(s) could not be backed up; the snapshot holds the rest",
                                    hint: "grant the backup identity list/get on them, or exclude them with --exclude-resources")
            }
        }
    }

    private func render(_ result: KubernetesBackup.Result, output: Output) {
        let r = result.report, s = result.snapshot
        if output.json {
            output.emit(.object([
                ("message_type", .string("summary")),
                ("cluster", .string(r.cluster)), ("server", .string(r.server)), ("server_version", .string(r.serverVersion)),
                ("objects", .int(Int64(r.objects))),
                ("counts", .object(r.counts.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
                ("skipped", .object(r.skipped.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("restarted_lists", .array(r.restartedLists.map { .string($0) })),
                ("data_added", .uint(s.saved.bytesAdded)), ("data_added_packed", .uint(s.saved.bytesStored)),
                ("snapshot_id", s.snapshotID.map { .string($0.hex) } ?? .null),
                ("dry_run", .bool(s.snapshotID == nil)),
            ]))
            return
        }
        for (resource, reason) in r.skipped.sorted(by: { $0.key < $1.key }) {
            output.warning("skipped \(resource): \(reason)")
        }
        for resource in r.restartedLists { output.detail("list of \(resource) restarted after its continue token expired (410)") }
        output.info("cluster \(r.cluster) (\(r.server)\(r.serverVersion.isEmpty ? "" : ", \(r.serverVersion)"))")
        if global.verbose {
            for (resource, count) in r.counts.sorted(by: { $0.key < $1.key }) { output.info("  \(resource): \(count)") }
        }
        output.info("\(r.objects) objects in \(r.counts.count) resources; added to the repository: \(s.saved.bytesAdded) bytes (\(s.saved.bytesStored) stored)")
        if let id = s.snapshotID { output.info("snapshot \(id.short) saved") } else { output.info("dry run: nothing was written") }
    }
}
