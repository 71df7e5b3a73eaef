import LookoutCore
import Testing
import TestSupport

/// `deploy/` is what people copy: it must validate against the tools that will read it.
@Suite struct DeploymentTests {
    static let manifests = ["deploy/kubernetes/lookout-sidecar.yaml"]

    @Test func kubernetesManifestsValidateAgainstKubernetes131() {
        for manifest in Self.manifests {
            let r = Shell.run(["kubernetes-validate", "-k", "1.31.0", "--strict", Repo.path(manifest)])
            #expect(r.status == 0, "\(manifest): \(r.output)")
            let lines = r.output.split(separator: "\n")
            #expect(lines.count == 3, "one line per resource: \(r.output)")
            #expect(lines.allSatisfy { $0.hasPrefix("INFO ") && $0.contains("passed for resource") }, "\(r.output)")
        }
        // The validator is not vacuous: a misspelt field fails it.
        let dir = TemporaryDirectory()
        let bad = (try? FileIO.readText(Repo.path(Self.manifests[0])))?.replacingOccurrences("shareProcessNamespace", "shareProcessNamespaces") ?? ""
        let r = Shell.run(["kubernetes-validate", "-k", "1.31.0", "--strict", dir.write("bad.yaml", bad)])
        #expect(r.status != 0 && r.output.contains("shareProcessNamespaces"), "\(r.output)")
    }

    @Test func theConfigMapHoldsAConfigLookoutAccepts() {
        let dir = TemporaryDirectory()
        // The ConfigMap's lookout.yml, extracted with PyYAML (the manifest holds several documents).
        let extract = Shell.run([
            "python3", "-c",
            "import sys, yaml\nfor d in yaml.safe_load_all(open(sys.argv[1])):\n    if d['kind'] == 'ConfigMap': sys.stdout.write(d['data']['lookout.yml'])",
            Repo.path(Self.manifests[0]),
        ])
        #expect(extract.status == 0 && extract.output.contains("targets:"), "\(extract.output)")
        let config = dir.write("lookout.yml", extract.output)
        let check = LookoutBinary.run(["check-config", config])
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func systemdUnitVerifiesWithTheBuiltBinary() throws {
        let unit = try FileIO.readText(Repo.path("deploy/systemd/lookout.service"))
        #expect(unit.contains("ExecStart=/usr/local/bin/lookout run"))
        let dir = TemporaryDirectory()
        let path = dir.write("lookout.service", unit.replacingOccurrences("/usr/local/bin/lookout", LookoutBinary.path))
        let r = Shell.run(["systemd-analyze", "verify", path])
        // Clean: no error and no warning (systemd-analyze warns of unknown keys with status 0).
        #expect(r.status == 0 && r.output.isEmpty, "\(r.output)")
        // And it is not vacuous: a unit whose binary is missing, or with a misspelt key, is reported.
        let missing = dir.write("missing.service", unit.replacingOccurrences("/usr/local/bin/lookout", "/nonexistent/lookout"))
        #expect(Shell.run(["systemd-analyze", "verify", missing]).status != 0)
        let typo = dir.write(
            "typo.service",
            unit.replacingOccurrences("/usr/local/bin/lookout", LookoutBinary.path).replacingOccurrences("ProtectSystem=", "ProtectSystm="))
        #expect(Shell.run(["systemd-analyze", "verify", typo]).output.contains("Unknown key"))
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
