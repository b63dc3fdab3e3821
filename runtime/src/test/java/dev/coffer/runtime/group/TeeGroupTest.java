package dev.coffer.runtime.group;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.container.Mounts;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.runtime.attest.GroupAttestation;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.store.AuditEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Groups launched on the simulated secure processor: measured launch recorded in the state,
 * attestation through the real agent process, and key release through the SKR API that the agent
 * serves inside the group's network namespace, against a real embedded attestation service and
 * key vault.
 */
class TeeGroupTest {
    static final String IMAGE = "coffer.test/skr:1";
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "seq", "wget", "sed", "tr", "base64",
            "sha256sum", "cut", "true", "false");
    static final HexFormat HEX = HexFormat.of();

    /** The example group's release script (examples/skr/group.yaml), retried while the key does not exist yet. */
    static final String SKR_GROUP = """
            name: %s
            scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
            skr: {port: %d}
            containers:
              - name: app
                image: coffer.test/skr:1
                command: [sh, -c]
                args:
                  - |
                    wget -q -O - http://127.0.0.1:%d/status; echo
                    for i in $(seq 1 $TRIES); do
                      if wget -q -O /tmp/key.json --header 'Content-Type: application/json' \\
                          --post-data "{\\"maa_endpoint\\":\\"$MAA\\",\\"akv_endpoint\\":\\"$AKV\\",\\"kid\\":\\"$KID\\"}" \\
                          http://127.0.0.1:%d/key/release; then
                        k=$(sed -e 's/.*\\\\"k\\\\":\\\\"\\([^\\\\]*\\)\\\\".*/\\1/' /tmp/key.json | tr '_-' '/+')
                        while [ $(( ${#k} %% 4 )) -ne 0 ]; do k="$k="; done
                        echo "released key sha256: $(echo "$k" | base64 -d | sha256sum | cut -d' ' -f1)"
                        exit 0
                      fi
                      sleep 0.3
                    done
                    echo "no key released after $TRIES tries"; exit 1
                env:
                  - {name: MAA, value: "%s"}
                  - {name: AKV, value: "%s"}
                  - {name: KID, value: skr-test-key}
                  - {name: TRIES, value: "%d"}
            """;

    @TempDir
    Path home;
    @TempDir
    Path work;
    GroupManager groups;
    final List<String> started = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer layer = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : APPLETS) layer.symlink("bin/" + a, "busybox");
        layer.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc")
                .file("etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0644).file("etc/group", "root:x:0:\n", 0644);
        Path layout = new ImageBuilder().layer(layer).config(ImageConfig.of(List.of("sh")))
                .writeLayout(Files.createDirectories(work.resolve("layout")), IMAGE);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
        groups = new GroupManager(home);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String name : started) {
            try {
                groups.stop(name, Duration.ofSeconds(1));
            } catch (Exception ignored) {
                // already stopped by the test
            }
        }
        assertEquals(List.of(), Mounts.mountedUnder(home), "mounts left behind");
    }

    private GroupHandle run(String yaml, String tee) throws Exception {
        var spec = GroupSpecParser.parse(yaml, "group.yaml");
        started.add(spec.name());
        return groups.run(spec, RunOptions.defaults().withTee(tee));
    }

    @Test
    void simLaunchIsRecordedAndAttestsThroughTheAgent() throws Exception {
        run("""
                name: measured
                scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
                skr: {enabled: false}
                containers:
                  - name: idle
                    image: coffer.test/skr:1
                    command: [sleep, "300"]
                """, RunOptions.TEE_SIM);
        GroupStatus ps = groups.status("measured");
        assertEquals("sim", ps.tee());
        assertNull(ps.skrPort());
        assertTrue(ps.measurement().matches("[0-9a-f]{96}"), ps.measurement());
        byte[] policy = Files.readAllBytes(groups.groupDir("measured").resolve("policy.rego"));
        assertEquals(HEX.formatHex(HostData.ofPolicy(policy)), ps.hostData());
        assertEquals(ps.hostData(), ps.policySha256());

        Path context = groups.groupDir("measured").resolve("launch-context.json");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(context)));

        GroupAttestation.Outcome ok = GroupAttestation.attest(groups, "measured");
        assertTrue(ok.valid(), ok.reason());
        assertEquals("sim (simulated, not a hardware TEE)", ok.teeNotice());
        assertEquals(ps.measurement(), ok.measurement());
        assertEquals(ps.hostData(), ok.hostData());
        for (String check : List.of(GroupAttestation.NONCE, GroupAttestation.HOST_DATA, GroupAttestation.MEASUREMENT)) {
            assertTrue(ok.checks().stream().anyMatch(c -> c.name().equals(check) && c.status() == CheckResult.Status.PASS), check);
        }
        // every attestation uses a fresh nonce, so two reports differ in REPORT_DATA
        assertNotEquals(ok.reportData(), GroupAttestation.attest(groups, "measured").reportData());

        // if the recorded launch differs from what the TEE reports, attestation fails and says which value
        Path state = groups.groupDir("measured").resolve("state.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode tree = (ObjectNode) json.readTree(state.toFile());
        tree.put("hostData", "00".repeat(32));
        json.writeValue(state.toFile(), tree);
        GroupAttestation.Outcome bad = GroupAttestation.attest(groups, "measured");
        assertFalse(bad.valid());
        assertTrue(bad.reason().startsWith(GroupAttestation.HOST_DATA + ": expected HOST_DATA"), bad.reason());

        // a stopped group keeps its record but not the capability to obtain reports
        groups.stop("measured", Duration.ofSeconds(1));
        assertFalse(Files.exists(context));
        assertThrows(GroupException.class, () -> GroupAttestation.attest(groups, "measured"));
    }

    @Test
    void groupWithoutTeeCannotBeAttestedNorAskForSkr() throws Exception {
        run("""
                name: plain
                scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
                containers:
                  - name: idle
                    image: coffer.test/skr:1
                    command: [sleep, "300"]
                """, RunOptions.TEE_NONE);
        GroupStatus ps = groups.status("plain");
        assertEquals("none", ps.tee());
        assertEquals("", ps.measurement());
        GroupException e = assertThrows(GroupException.class, () -> GroupAttestation.attest(groups, "plain"));
        assertTrue(e.getMessage().contains("found --tee none"), e.getMessage());

        GroupException skr = assertThrows(GroupException.class, () -> run("""
                name: wants-skr
                scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
                skr: {port: 8080}
                containers:
                  - name: idle
                    image: coffer.test/skr:1
                    command: [sleep, "300"]
                """, RunOptions.TEE_NONE));
        assertTrue(skr.getMessage().contains("expected --tee sim for group wants-skr"), skr.getMessage());
        assertFalse(Files.exists(groups.groupDir("wants-skr").resolve("state.json")));
    }

    @Test
    void containerReleasesKeyOverHttpsWithTheVaultPinnedInThePolicy() throws Exception {
        byte[] material = new byte[32];
        new java.security.SecureRandom().nextBytes(material);
        String fingerprint = HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(material));
        int port = 18472;
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            CofferServer.Pins pins = server.pins();
            // the guest (this agent build with these launch flags) endorsed by the home key, as `coffer guest endorse --process` does
            var endorsed = dev.coffer.runtime.guest.GuestEndorsements.endorseProcessSandbox(home, RunOptions.defaults().ociRuntime(),
                    port, List.of(server.url()), List.of());
            String pinned = SKR_GROUP.formatted("skr-https", port, port, port, server.url(), server.url(), 100)
                    .replace("skr: {port: " + port + "}", "skr: {port: " + port + ", endpoints: [" + server.url() + "], pins: [{endpoint: "
                            + server.url() + ", tls_certificate: '" + pins.tlsCertificate() + "', signing_keys: ['"
                            + String.join("', '", pins.signingKeys()) + "']}]}");
            run(pinned, RunOptions.TEE_SIM);
            GroupStatus ps = groups.status("skr-https");
            assertEquals(endorsed.endorsement().launchMeasurement(), ps.measurement());
            assertTrue(Files.readString(groups.groupDir("skr-https").resolve("policy.rego")).contains(pins.tlsCertificate()),
                    "the policy pins the vault's certificate");
            ObjectNode jwk = new ObjectMapper().createObjectNode().put("kty", "oct")
                    .put("k", Base64.getUrlEncoder().withoutPadding().encodeToString(material));
            server.vault().importKey("skr-test-key", jwk, true, ReleasePolicies.forCofferGuest(server.issuerName(), ps.hostData(), "sim"), false);
            ContainerRecord app = groups.waitFor("skr-https", "app", Duration.ofSeconds(90));
            String log = groups.readLog("skr-https", "app");
            String agentLog = Files.readString(groups.groupDir("skr-https").resolve("agent.log"));
            assertEquals(0, app.exitCode(), log + "\n" + agentLog);
            assertTrue(log.contains("released key sha256: " + fingerprint), log);
        }
    }

    @Test
    void containerReleasesKeyThroughSkrApiInsideTheGroupAndAModifiedPolicyIsRefused() throws Exception {
        byte[] material = new byte[32];
        new java.security.SecureRandom().nextBytes(material);
        String fingerprint = HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(material));
        int port = 18471;
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            // the guest (this agent build with these launch flags) endorsed by the home key, as `coffer guest build` does
            var endorsed = dev.coffer.runtime.guest.GuestEndorsements.endorseProcessSandbox(home, RunOptions.defaults().ociRuntime(),
                    port, List.of(), List.of());
            run(SKR_GROUP.formatted("skr-app", port, port, port, server.url(), server.url(), 100), RunOptions.TEE_SIM);
            GroupStatus ps = groups.status("skr-app");
            assertEquals(port, ps.skrPort());
            assertEquals(endorsed.endorsement().launchMeasurement(), ps.measurement());
            // handed to the agent, which sends it with its evidence (the server has none registered)
            assertTrue(Files.exists(groups.groupDir("skr-app").resolve("endorsement.cose")));
            // the API lives in the group's network namespace only: on the host nothing listens there
            assertThrows(ConnectException.class, () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                }
            });
            // the key is released only to this group's policy (its HOST_DATA)
            ObjectNode jwk = new ObjectMapper().createObjectNode().put("kty", "oct")
                    .put("k", Base64.getUrlEncoder().withoutPadding().encodeToString(material));
            server.vault().importKey("skr-test-key", jwk, true, ReleasePolicies.forCofferGuest(server.issuerName(), ps.hostData(), "sim"), false);

            ContainerRecord app = groups.waitFor("skr-app", "app", Duration.ofSeconds(90));
            String log = groups.readLog("skr-app", "app");
            assertEquals(0, app.exitCode(), log);
            assertTrue(log.contains("\"tee\":\"sim\""), log);
            assertTrue(log.contains("released key sha256: " + fingerprint), log);

            // same agent, other policy (one more env var): same MEASUREMENT, other HOST_DATA, no key
            String modified = SKR_GROUP.formatted("skr-modified", port, port, port, server.url(), server.url(), 3)
                    .replace("  - {name: TRIES", "  - {name: EXTRA, value: \"1\"}\n      - {name: TRIES");
            run(modified, RunOptions.TEE_SIM);
            GroupStatus other = groups.status("skr-modified");
            assertEquals(ps.measurement(), other.measurement());
            assertNotEquals(ps.hostData(), other.hostData());
            ContainerRecord refused = groups.waitFor("skr-modified", "app", Duration.ofSeconds(90));
            String refusedLog = groups.readLog("skr-modified", "app");
            assertEquals(1, refused.exitCode(), refusedLog);
            assertFalse(refusedLog.contains("released key"), refusedLog);
            List<AuditEntry> audit = server.vault().audit("skr-test-key", 20);
            assertTrue(audit.stream().anyMatch(a -> a.reason() != null && a.reason().contains("x-ms-sevsnpvm-hostdata")
                    && !a.verdict().equalsIgnoreCase("released")), audit.toString());
        }
    }
}
