package dev.coffer.cli.policy;

import dev.coffer.cli.CliRun;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.k8s.KubernetesManifest;
import dev.coffer.policy.k8s.PolicyAnnotation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code coffer policy gen} on Kubernetes manifests, with real images in a real store (layers really hashed). */
class KubernetesPolicyGenTest {
    @TempDir
    Path tmp;
    private String savedUserHome;

    static final String MANIFEST = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}
                spec:
                  runtimeClassName: coffer
                  automountServiceAccountToken: false
                  containers:
                    - name: web
                      image: coffer.local/k8s-app:1
                      env:
                        - {name: MODE, value: prod}
                        - name: TOKEN
                          valueFrom:
                            secretKeyRef: {name: web, key: token}
                      ports: [{containerPort: 8080}]
            ---
            # a one-off job in the same file
            apiVersion: batch/v1
            kind: Job
            metadata: {name: once}
            spec:
              template:
                spec:
                  automountServiceAccountToken: false
                  restartPolicy: Never
                  containers:
                    - {name: once, image: "coffer.local/k8s-app:1", args: ["--once"]}
            """;

    @BeforeEach
    void isolateHome() throws Exception {
        assumeTrue(System.getenv("COFFER_HOME") == null, "COFFER_HOME is set; these tests need their own store");
        savedUserHome = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("user").toString());
        Path home = tmp.resolve("user").resolve(".local/share/coffer");
        Path app = new ImageBuilder().layer(new TarLayer().dir("bin").file("bin/app", "#!/bin/sh\necho hi\n", 0755))
                .config(ImageConfig.of(List.of("/bin/app"))).writeLayout(tmp.resolve("app"), "coffer.local/k8s-app:1");
        Path pause = new ImageBuilder().layer(new TarLayer().file("pause", "\u007fELF-not-really\n", 0755))
                .config(ImageConfig.of(List.of("/pause"))).writeLayout(tmp.resolve("pause"), "registry.k8s.io/pause:3.6");
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(app);
            store.importArchive(pause);
        }
    }

    @AfterEach
    void restoreHome() {
        if (savedUserHome != null) System.setProperty("user.home", savedUserHome);
    }

    @Test
    void oneWorkloadToAFileAndTheSameBytesEveryTime() throws Exception {
        Path manifest = tmp.resolve("app.yaml");
        Files.writeString(manifest, MANIFEST);
        Path out = tmp.resolve("web.rego");
        CliRun r = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--workload", "Deployment/web", "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        String policy = Files.readString(out);
        assertTrue(r.out().contains("policy for Deployment/web (and its pause container) (1 container) written to"), r.out());
        assertTrue(r.out().contains("HOST_DATA (sha256 of the policy): " + GeneratedPolicy.sha256Hex(policy)), r.out());
        assertTrue(policy.contains("\"name\": \"pause.sandbox\"") && policy.contains("\"command\": [\"/pause\"]"), policy);
        assertTrue(policy.contains("\"pattern\": \"MODE=prod\""), policy);
        assertTrue(policy.contains("\"forwarded_ports\": [8080]"), policy);
        PolicyEnforcer.load(policy); // the enforcer takes it
        CliRun again = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--workload", "Deployment/web");
        assertEquals(policy, again.out(), "byte-identical on every run");
        assertEquals(MANIFEST, Files.readString(manifest), "without --inject the manifest is not touched");
    }

    @Test
    void injectWritesEveryPolicyIntoTheManifestInPlace() throws Exception {
        Path manifest = tmp.resolve("app.yaml");
        Files.writeString(manifest, MANIFEST);
        CliRun r = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--inject");
        assertEquals(0, r.exit(), r.err());
        String injected = Files.readString(manifest);
        assertTrue(injected.contains("# a one-off job in the same file"), "comments stay");
        Map<String, String> values = PolicyAnnotation.read(KubernetesManifest.parse(injected, "app.yaml"));
        assertEquals(List.of("Deployment/web", "Job/once"), List.copyOf(values.keySet()));
        for (Map.Entry<String, String> e : values.entrySet()) {
            String policy = new String(Base64.getDecoder().decode(e.getValue()), StandardCharsets.UTF_8);
            Path fresh = tmp.resolve("fresh.yaml");
            Files.writeString(fresh, MANIFEST);
            assertEquals(policy, PolicyCommandTest.run("policy", "gen", fresh.toString(), "--workload", e.getKey()).out(),
                    "the annotation is the policy gen writes for " + e.getKey());
            assertTrue(r.out().contains(e.getKey() + ": policy written to " + manifest), r.out());
            assertTrue(r.out().contains("HOST_DATA (sha256 of the policy): " + GeneratedPolicy.sha256Hex(policy)), r.out());
        }
        CliRun twice = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--inject");
        assertEquals(0, twice.exit(), twice.err());
        assertEquals(injected, Files.readString(manifest), "injecting again changes nothing");
    }

    @Test
    void injectToAnotherFileLeavesTheInputAloneAndAnUnknownWorkloadIsNamed() throws Exception {
        Path manifest = tmp.resolve("app.yaml");
        Files.writeString(manifest, MANIFEST);
        Path out = tmp.resolve("app.injected.yaml");
        CliRun r = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--inject", "--workload", "Job/once",
                "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(MANIFEST, Files.readString(manifest), "-o leaves the input as it was");
        Map<String, String> values = PolicyAnnotation.read(KubernetesManifest.parse(Files.readString(out), "out.yaml"));
        assertEquals(List.of("Job/once"), List.copyOf(values.keySet()), "only the chosen workload is annotated");

        CliRun unknown = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--workload", "Deployment/nope");
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().contains("no workload Deployment/nope; the file has [Deployment/web, Job/once]"), unknown.err());

        CliRun armOnly = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--workload", "Job/once",
                "--infrastructure-svn", "2");
        assertEquals(1, armOnly.exit());
        assertTrue(armOnly.err().contains("applies to ARM templates only"), armOnly.err());
    }

    @Test
    void configMapAndSecretFilesPinTheVolumesFilesAndWhatIsNotGivenIsSaidOnStderr() throws Exception {
        Path manifest = tmp.resolve("vol.yaml");
        Files.writeString(manifest, """
                apiVersion: v1
                kind: Pod
                metadata: {name: vol}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - name: app
                      image: coffer.local/k8s-app:1
                      volumeMounts:
                        - {name: config, mountPath: /etc/app}
                        - {name: creds, mountPath: /etc/creds}
                  volumes:
                    - {name: config, configMap: {name: app-config}}
                    - {name: creds, secret: {secretName: db}}
                """);
        Path configMaps = tmp.resolve("config.yaml");
        Files.writeString(configMaps, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {app.yaml: \"level: info\"}\n");
        Path secrets = tmp.resolve("secrets.yaml");
        Files.writeString(secrets, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: czNjcjN0}\n");
        String appYaml = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest("level: info".getBytes(StandardCharsets.UTF_8)));

        // nothing given: both volumes unpinned, one stderr line each
        CliRun bare = PolicyCommandTest.run("policy", "gen", manifest.toString());
        assertEquals(0, bare.exit(), bare.err());
        assertFalse(bare.out().contains("\"files\""), bare.out());
        assertEquals(2, bare.err().lines().filter(l -> l.contains("is not pinned")).count(), bare.err());
        assertTrue(bare.err().contains("volume config (configMap) is not pinned: ConfigMap 'app-config' is not in this file (add it,"
                + " or pass --config-map FILE)"), bare.err());

        // the Secret given but not --pin-secrets: refused, saying what pinning a Secret means; nothing written
        CliRun unconfirmed = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--config-map",
                configMaps.toString(), "--secret", secrets.toString());
        assertEquals(1, unconfirmed.exit(), unconfirmed.err());
        assertEquals("", unconfirmed.out());
        assertTrue(unconfirmed.err().contains("expected --pin-secrets with --secret"), unconfirmed.err());

        // the ConfigMap given, the Secret in the manifest itself: the ConfigMap pinned, the Secret not without --pin-secrets
        Path withSecret = tmp.resolve("vol-with-secret.yaml");
        Files.writeString(withSecret, Files.readString(manifest) + "---\n" + Files.readString(secrets));
        CliRun secretUnpinned = PolicyCommandTest.run("policy", "gen", withSecret.toString(), "--config-map",
                configMaps.toString());
        assertEquals(0, secretUnpinned.exit(), secretUnpinned.err());
        assertTrue(secretUnpinned.out().contains("\"files\": [{\"path\": \"app.yaml\""), secretUnpinned.out());
        assertFalse(secretUnpinned.out().contains("\"path\": \"password\""), "no digest of the Secret: " + secretUnpinned.out());
        assertTrue(secretUnpinned.err().contains("volume creds (secret) is not pinned: its files come from a Secret")
                && secretUnpinned.err().contains("--pin-secrets"), secretUnpinned.err());

        CliRun pinned = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--config-map",
                configMaps.toString(), "--secret", secrets.toString(), "--pin-secrets");
        assertEquals(0, pinned.exit(), pinned.err());
        assertTrue(pinned.out().contains("\"files\": [{\"path\": \"app.yaml\", \"sha256\": \"" + appYaml + "\"}]"), pinned.out());
        assertTrue(pinned.out().contains("\"files\": [{\"path\": \"password\""), pinned.out());
        assertFalse(pinned.out().contains("s3cr3t") || pinned.out().contains("czNjcjN0"), "a Secret's value is not in the policy");
        assertFalse(pinned.err().contains("is not pinned"), pinned.err());
        assertTrue(pinned.err().contains("volume creds pins its Secret files by SHA-256"), pinned.err());
        PolicyEnforcer.load(pinned.out());

        // a --config-map file that holds something else
        CliRun wrong = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--config-map", secrets.toString());
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("expected a ConfigMap with metadata.name, found a Secret"), wrong.err());
    }

    @Test
    void refusalsNameTheFieldAndLeaveTheFileAlone() throws Exception {
        Path manifest = tmp.resolve("app.yaml");
        String hostile = MANIFEST.replace("runtimeClassName: coffer", "runtimeClassName: coffer\n      hostNetwork: true");
        Files.writeString(manifest, hostile);
        CliRun r = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--inject");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("Deployment/web: spec.hostNetwork is true"), r.err());
        assertEquals(hostile, Files.readString(manifest));

        Files.writeString(manifest, MANIFEST);
        CliRun several = PolicyCommandTest.run("policy", "gen", manifest.toString());
        assertEquals(1, several.exit());
        assertTrue(several.err().contains("[Deployment/web, Job/once]; choose one with --workload KIND/NAME"), several.err());

        CliRun missingPause = PolicyCommandTest.run("policy", "gen", manifest.toString(), "--workload", "Job/once",
                "--pause-image", "coffer.local/no-pause:1");
        assertEquals(1, missingPause.exit());
        assertTrue(missingPause.err().contains("coffer.local/no-pause:1"), missingPause.err());

        Path group = tmp.resolve("group.yaml");
        Files.writeString(group, "name: g\ncontainers:\n  - name: a\n    image: coffer.local/k8s-app:1\n");
        CliRun notK8s = PolicyCommandTest.run("policy", "gen", group.toString(), "--inject");
        assertEquals(1, notK8s.exit());
        assertTrue(notK8s.err().contains("--inject applies to Kubernetes manifests only"), notK8s.err());
        assertFalse(Files.readString(group).contains(PolicyAnnotation.KEY));
    }
}
