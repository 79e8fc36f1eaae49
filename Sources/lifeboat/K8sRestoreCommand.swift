import ArgumentParser
import LifeboatCore
import LifeboatRepository
import LifeboatKubernetes
import LifeboatArchive

struct K8sRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore Kubernetes objects from a snapshot: as manifests (--to-dir) or into a cluster (--apply).",
        discussion: """
            Objects are chosen with the backup filters, --name, or references such as namespaces/shop/deployments.apps/web
            and cluster/persistentvolumes/pv1. Server-owned fields are stripped; objects whose controller owner is restored
            too are skipped (the controller recreates them). Order: CRDs (waiting until Established), namespaces, storage
            classes, PVs, PVCs, service accounts, secrets, config maps, limit ranges, pods, replica sets, endpoints,
            services, then the rest alphabetically.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var kube: KubeOptions
    @OptionGroup var filter: K8sFilterOptions
    @OptionGroup var selection: SnapshotFilterOptions

    @Argument(help: "The snapshot: an ID, a prefix or latest.")
    var snapshot: String

    @Argument(help: "Individual objects: namespaces/NS/RESOURCE[.GROUP]/NAME or cluster/RESOURCE[.GROUP]/NAME.")
    var objects: [String] = []

    @Option(name: .customLong("cluster-name"), help: "Which cluster of the snapshot (needed when it holds several).")
    var clusterName: String?

    @Option(help: "Only objects with this name (repeatable).")
    var name: [String] = []

    @Option(name: .customLong("namespace-mappings"), help: "Rewrite namespaces: old:new[,old2:new2].")
    var namespaceMappings: String?

    @Flag(name: .customLong("restore-status"), help: "Keep the status of objects.")
    var restoreStatus = false

    @Flag(name: .customLong("preserve-nodeports"), help: "Keep Service nodePorts.")
    var preserveNodePorts = false

    @Option(name: .customLong("existing-resource-policy"), help: "none (skip and report objects that exist and differ) or update (patch them).")
    var existingResourcePolicy: String = "none"

    @Option(name: .customLong("to-dir"), help: "Write manifests into this directory (kubectl apply -f DIR creates them in order).")
    var toDir: String?

    @Option(name: [.short, .customLong("output")], help: "Manifest format for --to-dir: yaml or json.")
    var format: String = "yaml"

    @Flag(help: "Create the objects in the cluster of --kubeconfig/--context.")
    var apply = false

    @Flag(name: .customLong("dry-run"), help: "Show the plan only.")
    var dryRun = false

    func validate() throws {
        guard (toDir != nil) != apply || dryRun else {
            throw ValidationError("choose exactly one target: --to-dir DIR or --apply (or --dry-run to see the plan)")
        }
        guard ExistingResourcePolicy(rawValue: existingResourcePolicy) != nil else {
            throw ValidationError("--existing-resource-policy takes none or update")
        }
        guard ManifestFormat(rawValue: format) != nil else { throw ValidationError("--output takes yaml or json") }
    }

    func restoreOptions() throws -> ObjectRestoreOptions {
        var options = ObjectRestoreOptions()
        options.filters = try filter.filters()
        options.names = name
        for pair in (namespaceMappings ?? "").split(separator: ",") {
            let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw LifeboatError(.invalidArgument, "--namespace-mappings entry \"\(pair)\" is not old:new")
            }
            options.namespaceMappings[String(parts[0])] = String(parts[1])
        }
        options.restoreStatus = restoreStatus
        options.preserveNodePorts = preserveNodePorts
        options.existingResourcePolicy = ExistingResourcePolicy(rawValue: existingResourcePolicy)!
        return options
    }

    func run() async throws {
        let output = global.output
        try await runCommand(output) {
            let options = try restoreOptions()
            let client = apply ? try kube.client() : nil
            let plan = try await global.withRepository { repository in
                let chosen = try await selection.select(snapshot, in: repository, output: output)
                let reader = SnapshotObjects(repository: repository, index: try await repository.loadIndex(), tree: chosen.snapshot.tree)
                let cluster = try await reader.cluster(clusterName)
                let stored = try await reader.objects(cluster: cluster, filters: options.filters, only: objects)
                return RestorePlanner.plan(stored, options: options)
            }
            var outcomes: [RestoreOutcome]
            if let toDir, !dryRun {
                let written = try Manifests.write(plan, to: toDir, format: ManifestFormat(rawValue: format)!)
                output.detail("wrote \(written.count) manifests to \(toDir)")
                outcomes = plan.map { RestoreOutcome(resourceDirectory: $0.resourceDirectory, namespace: $0.namespace,
                                                     name: $0.object.string("metadata", "name") ?? $0.name,
                                                     action: $0.skipReason == nil ? .created : .skipped, reason: $0.skipReason) }
            } else if let client {
                var applier = Applier(client: client, policy: options.existingResourcePolicy)
                applier.dryRun = dryRun
                let frozen = applier
                outcomes = try await onBlockingThread { try frozen.apply(plan) }
            } else {
                outcomes = plan.map { RestoreOutcome(resourceDirectory: $0.resourceDirectory, namespace: $0.namespace,
                                                     name: $0.object.string("metadata", "name") ?? $0.name,
                                                     action: $0.skipReason == nil ? .planned : .skipped, reason: $0.skipReason) }
            }
            RestoreSummary(outcomes: outcomes).render(output, target: toDir.map { "files in \($0)" } ?? (apply ? "cluster" : "plan"))
            let failed = outcomes.filter { $0.action == .failed }.count
            if failed > 0 {
                throw LifeboatError(.partialBackup, "\(failed) object(s) could not be restored", hint: "see the reasons above")
            }
        }
    }
}

/// Counts per resource and action, then each object not created with its reason.
struct RestoreSummary {
    var outcomes: [RestoreOutcome]

    func render(_ output: Output, target: String) {
        let actions: [RestoreOutcome.Action] = [.created, .updated, .unchanged, .skipped, .failed, .planned]
        var perResource: [String: [RestoreOutcome.Action: Int]] = [:]
        for o in outcomes { perResource[o.resourceDirectory, default: [:]][o.action, default: 0] += 1 }
        if output.json {
            output.emit(.object([
                ("message_type", .string("summary")), ("target", .string(target)),
                ("totals", .object(actions.map { a in (a.rawValue, .int(Int64(outcomes.filter { $0.action == a }.count))) })),
                ("resources", .object(perResource.sorted { $0.key < $1.key }.map { r, counts in
                    (r, .object(actions.compactMap { a in counts[a].map { (a.rawValue, .int(Int64($0))) } }))
                })),
                ("objects", .array(outcomes.map { o in
                    .object([("resource", .string(o.resourceDirectory)), ("namespace", o.namespace.map { .string($0) } ?? .null),
                             ("name", .string(o.name)), ("action", .string(o.action.rawValue)),
                             ("reason", o.reason.map { .string($0) } ?? .null)])
                })),
            ]))
            return
        }
        let header = ["RESOURCE"] + actions.map { $0.rawValue.uppercased() }
        var rows = [header]
        for (r, counts) in perResource.sorted(by: { $0.key < $1.key }) {
            rows.append([r] + actions.map { String(counts[$0] ?? 0) })
        }
        rows.append(["TOTAL"] + actions.map { a in String(outcomes.filter { $0.action == a }.count) })
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for row in rows {
            output.info(row.enumerated().map { i, cell in i == 0 ? cell.padding(widths[i]) : cell.leftPadded(widths[i]) }.joined(separator: "  "))
        }
        for o in outcomes where o.action == .skipped || o.action == .failed || o.action == .updated {
            let ref = "\(o.resourceDirectory) \(o.namespace.map { $0 + "/" } ?? "")\(o.name)"
            if o.action == .failed { printErr("failed: \(ref): \(o.reason ?? "")") } else { output.info("\(o.action.rawValue): \(ref): \(o.reason ?? "")") }
        }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
