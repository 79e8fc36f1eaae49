import ArgumentParser
import LifeboatCore
import LifeboatKubernetes

/// Group of `lifeboat k8s …` commands.
struct K8sCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Back up and restore Kubernetes resources (Velero-style filters and layout).",
        discussion: "Exit codes: 0 ok, 1 failure, 3 saved or restored but some resources were skipped or failed.",
        subcommands: [K8sBackupCommand.self, K8sRestoreCommand.self, K8sLsCommand.self, K8sDiffCommand.self])
}

/// Which cluster to talk to, as kubectl chooses it.
struct KubeOptions: ParsableArguments {
    @Option(help: "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).")
    var kubeconfig: String?

    @Option(help: "kubeconfig context to use (default: current-context).")
    var context: String?

    func client() throws -> KubeClient {
        try KubeClient(KubeConfig.load(path: kubeconfig, context: context))
    }
}

/// Velero's filter flags.
struct K8sFilterOptions: ParsableArguments {
    @Option(name: .customLong("include-namespaces"), help: "Namespaces to include (globs, comma-separated; default: all).")
    var includeNamespaces: [String] = []

    @Option(name: .customLong("exclude-namespaces"), help: "Namespaces to exclude (globs, comma-separated).")
    var excludeNamespaces: [String] = []

    @Option(name: .customLong("include-resources"), help: "Resources to include: resource, resource.group, kind or short name (comma-separated; default: all).")
    var includeResources: [String] = []

    @Option(name: .customLong("exclude-resources"), help: "Resources to exclude (same forms).")
    var excludeResources: [String] = []

    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector: key=value, key!=value, key in (a,b), key notin (a), key, !key.")
    var selector: String?

    @Option(name: .customLong("or-selector"), help: "Label selectors joined by \" or \"; objects matching any are taken.")
    var orSelector: String?

    @Option(name: .customLong("include-cluster-resources"), help: "auto, true or false (auto: cluster-scoped objects when every namespace is taken, plus the PVs and CRDs the taken objects need).")
    var includeClusterResources: String = "auto"

    @Flag(name: .customLong("exclude-secrets"), help: "Leave Secrets out.")
    var excludeSecrets = false

    func validate() throws {
        if selector != nil && orSelector != nil {
            throw ValidationError("--selector and --or-selector cannot be combined")
        }
        guard ["auto", "true", "false"].contains(includeClusterResources) else {
            throw ValidationError("--include-cluster-resources takes auto, true or false")
        }
    }

    func filters() throws -> ObjectFilters {
        var f = ObjectFilters()
        let split = { (values: [String]) in values.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: " ") } }.filter { !$0.isEmpty } }
        f.namespaces = NamespaceFilter(includes: split(includeNamespaces), excludes: split(excludeNamespaces))
        f.resources = ResourceFilter(includes: split(includeResources), excludes: split(excludeResources))
        if let selector { f.selectors = [try LabelSelector(parsing: selector)] }
        if let orSelector {
            f.selectors = try orSelector.split(separator: " or ").map { try LabelSelector(parsing: String($0)) }
        }
        f.includeClusterResources = includeClusterResources == "auto" ? nil : includeClusterResources == "true"
        f.excludeSecrets = excludeSecrets
        return f
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
