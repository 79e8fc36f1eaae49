import LifeboatCore

/// Runs a kubeconfig exec plugin and reads the `ExecCredential` it prints.
enum ExecCredentialRunner {
    struct Credential {
        var token: String?
        var clientCertificate: [UInt8]?
        var clientKey: [UInt8]?
        var expires: Timestamp?
    }

    static func run(_ plugin: ExecPlugin, server: String) throws -> Credential {
        var info = JSONWriter()
        info.beginObject()
        info.key("apiVersion"); info.string(plugin.apiVersion)
        info.key("kind"); info.string("ExecCredential")
        info.key("spec"); info.beginObject()
        info.key("interactive"); info.bool(false)
        if plugin.provideClusterInfo { info.key("cluster"); info.beginObject(); info.key("server"); info.string(server); info.endObject() }
        info.endObject()
        info.endObject()
        var line = "env KUBERNETES_EXEC_INFO=" + System.shellQuote(String(decoding: info.bytes, as: UTF8.self))
        for (name, value) in plugin.env { line += " " + System.shellQuote("\(name)=\(value)") }
        line += " " + ([plugin.command] + plugin.args).map(System.shellQuote).joined(separator: " ")
        let (output, status) = try System.run(line)
        guard status == 0 else {
            throw LifeboatError(.invalidArgument, "the kubeconfig exec plugin \(plugin.command) exited with status \(status)",
                                hint: "run it by hand to see its error (lifeboat runs it non-interactively)")
        }
        guard let doc = try? JSONValue(parsing: output), let st = doc["status"] else {
            throw LifeboatError(.invalidArgument, "the kubeconfig exec plugin \(plugin.command) did not print an ExecCredential with a status")
        }
        let credential = Credential(token: st["token"]?.stringValue,
                                    clientCertificate: st["clientCertificateData"]?.stringValue.map { Array($0.utf8) },
                                    clientKey: st["clientKeyData"]?.stringValue.map { Array($0.utf8) },
                                    expires: st["expirationTimestamp"]?.stringValue.flatMap { Timestamp(rfc3339: $0) })
        guard credential.token != nil || (credential.clientCertificate != nil && credential.clientKey != nil) else {
            throw LifeboatError(.invalidArgument, "the ExecCredential from \(plugin.command) has neither a token nor a client certificate and key")
        }
        return credential
    }
}
