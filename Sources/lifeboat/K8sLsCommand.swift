import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatKubernetes
import LifeboatArchive

struct K8sLsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the Kubernetes objects in a snapshot (filtered by namespace, resource, label).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filter: K8sFilterOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Argument(help: "The snapshot: an ID, a prefix or latest.")
    var snapshot: String

    @Option(name: .customLong("cluster-name"), help: "Which cluster of the snapshot (needed when it holds several).")
    var clusterName: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let filters = try filter.filters()
            let objects = try await global.withRepository { repository in
                let chosen = try await selection.select(snapshot, in: repository, output: output)
                let reader = SnapshotObjects(repository: repository, index: try await repository.loadIndex(), tree: chosen.snapshot.tree)
                let cluster = try await reader.cluster(clusterName)
                var options = ObjectRestoreOptions()
                options.filters = filters
                return RestorePlanner.plan(try await reader.objects(cluster: cluster, filters: filters), options: options).map(\.source)
            }
            let sorted = objects.sorted { $0.reference < $1.reference }
            if output.json {
                output.emit(.array(sorted.map { o in
                    .object([("reference", .string(o.reference)), ("resource", .string(o.resourceDirectory)),
                             ("kind", .string(o.kind)), ("namespace", o.namespace.map { .string($0) } ?? .null), ("name", .string(o.name))])
                }))
            } else {
                for o in sorted { printOut(o.reference) }
            }
        }
    }
}

struct K8sDiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show objects added, removed and changed between two snapshots of a cluster.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The older snapshot.")
    var first: String

    @Argument(help: "The newer snapshot.")
    var second: String

    @Option(name: .customLong("cluster-name"), help: "Which cluster (needed when the snapshots hold several).")
    var clusterName: String?

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let (added, removed, changed) = try await global.withRepository { repository in
                let all = try await repository.readableSnapshots().snapshots
                let index = try await repository.loadIndex()
                var listings: [ObjectListing] = []
                for ref in [first, second] {
                    let chosen = try SnapshotSelector(parsing: ref).resolve(in: all)
                    let reader = SnapshotObjects(repository: repository, index: index, tree: chosen.snapshot.tree)
                    listings.append(try await ObjectListing.load(reader, cluster: try await reader.cluster(clusterName)))
                }
                return listings[0].diff(to: listings[1])
            }
            if output.json {
                output.emit(.object([("added", .array(added.map { .string($0) })), ("removed", .array(removed.map { .string($0) })),
                                     ("changed", .array(changed.map { .string($0) }))]))
                return
            }
            for r in added { printOut("+ " + r) }
            for r in removed { printOut("- " + r) }
            for r in changed { printOut("M " + r) }
            output.info("\(added.count) added, \(removed.count) removed, \(changed.count) changed")
        }
    }
}
