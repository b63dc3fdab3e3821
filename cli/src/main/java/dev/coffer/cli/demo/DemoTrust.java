package dev.coffer.cli.demo;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.jwk.JWK;
import dev.coffer.agent.protocol.Result;
import dev.coffer.runtime.attest.GroupAttestation;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.runtime.guest.GuestEndorsements;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.store.AuditEntry;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * The demo's trust steps (issues 5 and 6): the demo group runs on the simulated secure
 * processor; an embedded attestation service + key vault ({@link CofferServer}, trusting this
 * home's simulated chip) attests it ({@code attested}), releases a vault key to one of its
 * containers through the agent's SKR API ({@code key-released}), and refuses the key to a second
 * launch whose policy differs ({@code key-refused-modified-policy}) and to a host-made launch with
 * the group's HOST_DATA but an unendorsed MEASUREMENT ({@code key-refused-unendorsed-guest}).
 *
 * <p>The vault is started before the group's policy is generated, because its URL is part of
 * the group spec (the key holder's environment, which the policy pins). Attestation runs with
 * either sandbox, and so do the key steps: the spec lists the vault in {@code skr.endpoints}, which
 * is the agent's allow-list and, in a microVM, the one destination the VM's network reaches.
 * Under emulation a microVM's agent is slow (RSA key generation, report signing), so its waits
 * are longer.
 */
final class DemoTrust implements AutoCloseable {
    static final String KEY = "coffer-demo-key";
    static final String KEY_HOLDER = "keyholder";
    static final String MODIFIED_GROUP = "coffer-demo-modified";
    /** httpd holds the group's 127.0.0.1:8080, so the SKR API takes the next port. */
    static final int SKR_PORT = 8081;
    /** What the key holder's shell script needs beyond the demo image's applets. */
    static final List<String> APPLETS = List.of("sed", "tr", "base64", "sha256sum", "cut");
    private static final HexFormat HEX = HexFormat.of();

    private final java.nio.file.Path home;
    private final GroupManager groups;
    private final String isolation;
    /** How long a key holder may take: a microVM under emulation is an order of magnitude slower. */
    private final Duration keyWait;
    private CofferServer server;
    private String vaultProblem;
    private byte[] keyMaterial;

    DemoTrust(java.nio.file.Path home, String isolation, GroupManager groups) {
        this.home = home;
        this.groups = groups;
        this.isolation = isolation;
        this.keyWait = Duration.ofSeconds(ProcessSandboxBackend.NAME.equals(isolation) ? 60 : 300);
    }

    /** The demo always launches on this home's simulated secure processor. */
    String tee() {
        return RunOptions.TEE_SIM;
    }

    /**
     * Starts the embedded attestation service + key vault on a free loopback port. Never throws:
     * a failure is kept and reported by the first trust step, so the demo's steps stay in order.
     */
    void startVault() {
        if (server != null) return;
        try {
            server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        } catch (RuntimeException e) {
            vaultProblem = "cannot start the embedded attestation service and key vault: " + e.getMessage();
        }
    }

    /**
     * The group spec's additions: the key holder container and the SKR API with the vault as its
     * endpoint, its TLS certificate and signing keys pinned (what `coffer server pins` prints), so
     * the agent takes a release only from this vault, over HTTPS.
     */
    String specAddition(String image) {
        String url = server == null ? "https://127.0.0.1:1" : server.url();
        return keyHolderYaml(image, url, 600) + skrSection(url, server == null ? null : server.pins());
    }

    private static String skrSection(String vaultUrl, CofferServer.Pins pins) {
        // quoted: a fingerprint or thumbprint must stay a string, whatever characters it happens to have
        String pinned = pins == null ? "" : ", pins: [{endpoint: " + vaultUrl + ", tls_certificate: '" + pins.tlsCertificate()
                + "', signing_keys: ['" + String.join("', '", pins.signingKeys()) + "']}]";
        return "skr: {port: " + SKR_PORT + ", endpoints: [" + vaultUrl + "]" + pinned + "}\n";
    }

    /**
     * A container that asks the agent's SKR API for the vault key and prints its SHA-256
     * fingerprint (the shape of examples/skr). It retries while the key does not exist yet: the
     * demo creates it only once the group's HOST_DATA is known.
     */
    static String keyHolderYaml(String image, String url, int tries) {
        return """
                  - name: %s
                    image: %s
                    command: [sh, -c]
                    args:
                      - |
                        for i in $(seq 1 %d); do
                          if wget -q -O /tmp/key.json --header 'Content-Type: application/json' --post-data '{"maa_endpoint":"%s","akv_endpoint":"%s","kid":"%s"}' http://127.0.0.1:%d/key/release 2>/dev/null; then
                            k=$(sed -e 's/.*\\\\"k\\\\":\\\\"\\([^\\\\]*\\)\\\\".*/\\1/' /tmp/key.json | tr '_-' '/+')
                            while [ $(( ${#k} %% 4 )) -ne 0 ]; do k="$k="; done
                            echo "released key sha256: $(echo "$k" | base64 -d | sha256sum | cut -d' ' -f1)"
                            exit 0
                          fi
                          sleep 0.5
                        done
                        echo "no key released after %d tries" >&2; exit 1
                """.formatted(KEY_HOLDER, image, tries, url, url, KEY, SKR_PORT, tries);
    }

    /**
     * Makes sure the guest a demo launch will run is endorsed by this home's endorsement key (as
     * `coffer guest build` does), so the embedded service, which trusts that key, vouches for it.
     * The process sandbox's MEASUREMENT covers the agent's code and its measured launch flags
     * (OCI runtime, SKR port and endpoints, forwarded ports), so it is endorsed per flag set; a
     * microVM's covers the guest image only, endorsed once. Returns the endorsed MEASUREMENT.
     */
    String endorseLaunch(GroupSpec spec) throws IOException {
        if (!ProcessSandboxBackend.NAME.equals(isolation)) {
            GuestImage guest = GuestImage.load(home.resolve("guest"));
            String m = HEX.formatHex(guest.measurement().compute());
            if (GuestEndorsements.lookup(home, m).isEmpty()) GuestEndorsements.endorseMicroVm(home, guest);
            return m;
        }
        Integer skrPort = spec.skr().declared() && spec.skr().enabled() ? spec.skr().port() : null;
        java.util.LinkedHashSet<String> endpoints = new java.util.LinkedHashSet<>(spec.skr().endpoints());
        for (GroupSpec.VolumeSpec v : spec.volumes()) {
            if (v.encrypted() == null) continue;
            endpoints.add(dev.coffer.agent.skr.SecureKeyRelease.endpointOrigin(v.encrypted().authority()));
            endpoints.add(dev.coffer.agent.skr.SecureKeyRelease.endpointOrigin(v.encrypted().vault()));
        }
        List<Integer> ports = spec.containers().stream().flatMap(c -> c.ports().stream()).filter(p -> p.protocol().equals("TCP"))
                .map(GroupSpec.Port::containerPort).distinct().toList();
        return GuestEndorsements.endorseProcessSandbox(home, RunOptions.defaults().ociRuntime(), skrPort, List.copyOf(endpoints), ports)
                .endorsement().launchMeasurement();
    }

    /** Fails the step when a launch's MEASUREMENT is not the one endorsed for it (the demo's own bookkeeping went wrong). */
    static void requireEndorsed(String group, String endorsed, GroupStatus status) throws IOException {
        if (!status.measurement().equals(endorsed)) {
            throw new IOException("expected group " + group + " to launch with the endorsed MEASUREMENT " + endorsed
                    + ", found " + status.measurement() + "; its launch flags differ from those endorsed");
        }
    }

    private CofferServer server() throws IOException {
        if (server == null) throw new IOException(vaultProblem != null ? vaultProblem : "the key vault was not started");
        return server;
    }

    /**
     * {@code attested}: a fresh report of the demo group through its agent (nonce-bound, checked
     * against what `coffer run` recorded), then through the embedded attestation service, whose
     * signed token is verified against its JWKS; the detail shows the token's claims.
     */
    String attested(String group) throws Exception {
        CofferServer s = server();
        GroupAttestation.Outcome local = GroupAttestation.attest(groups, group);
        if (!local.valid()) throw new IOException("the group's report does not verify: " + local.reason());
        byte[] nonce = HEX.parseHex(local.nonce());
        Result.Report report = groups.report(group, nonce);
        // the guest's endorsement goes with its evidence, as the agent's SKR API sends it
        List<byte[]> endorsements = GuestEndorsements.lookup(home, groups.status(group).measurement()).stream()
                .map(dev.coffer.attest.endorse.GuestEndorsement::raw).toList();
        String token = s.attestation().attest(HEX.parseHex(report.reportHex()), report.certChainPem(), endorsements, null, null,
                local.nonce());
        com.fasterxml.jackson.databind.JsonNode claims = verified(s, token);
        String measurement = claims.path("x-ms-sevsnpvm-launchmeasurement").asText();
        String hostData = claims.path("x-ms-sevsnpvm-hostdata").asText();
        GroupStatus recorded = groups.status(group);
        if (!recorded.measurement().equals(measurement) || !recorded.hostData().equals(hostData)) {
            throw new IOException("expected the token to carry the launch's MEASUREMENT " + recorded.measurement() + " and HOST_DATA "
                    + recorded.hostData() + ", found " + measurement + " and " + hostData);
        }
        return "token from " + s.issuerName() + " (signature checked against its JWKS): x-coffer-tee="
                + claims.path("x-coffer-tee").asText() + " (simulated, not a hardware TEE), measurement " + measurement
                + ", host data " + hostData + ", debuggable " + claims.path("x-ms-sevsnpvm-is-debuggable")
                + ", " + claims.path("x-ms-compliance-status").asText() + " (endorsed by " + claims.path("x-coffer-endorsement-feed").asText()
                + " svn " + claims.path("x-coffer-endorsement-svn").asText() + ")";
    }

    /**
     * {@code key-refused-unendorsed-guest}: the attack of issue 11. The host makes a launch of its
     * own on the simulated secure processor (any kernel, a shell instead of Coffer's agent: here a
     * MEASUREMENT nobody endorsed) with the demo group's HOST_DATA, and asks the attestation
     * service for a token over HTTP as the SKR API would, once bare and once replaying the genuine
     * guest's endorsement. Both get no token, so no key; the vault's audit shows no release
     * beyond the genuine one.
     */
    String keyRefusedUnendorsedGuest(String group) throws Exception {
        CofferServer s = server();
        String hostData = groups.status(group).hostData();
        byte[] measurement = MessageDigest.getInstance("SHA-384").digest(
                "a host-made guest: its own kernel and a shell instead of Coffer's agent".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        String measurementHex = HEX.formatHex(measurement);
        var chip = dev.coffer.attest.sim.SimulatedSecureProcessor.openOrCreate(home.resolve(GroupManager.SIM_TEE_DIR));
        var launch = chip.launch(measurement, HEX.parseHex(hostData));
        byte[] runtimeJson = "{\"keys\":[]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] report = launch.report(java.util.Arrays.copyOf(sha256(runtimeJson), 64));
        String chain = chip.vcekPem() + chip.chainPem();
        List<byte[]> genuine = GuestEndorsements.lookup(home, groups.status(group).measurement()).stream()
                .map(dev.coffer.attest.endorse.GuestEndorsement::raw).toList();
        long releasedBefore = s.vault().audit(KEY, 100).stream().filter(a -> a.verdict().equalsIgnoreCase("released")).count();
        var client = new dev.coffer.server.client.CofferClient(s.url(), null,
                new dev.coffer.server.client.ServerTrust.PinnedCertificate(s.pins().tlsCertificate()));
        List<String> refusals = new java.util.ArrayList<>();
        for (List<byte[]> presented : List.of(List.<byte[]>of(), genuine)) {
            try {
                client.attest(dev.coffer.server.client.MaaRequest.body(report, chain, presented, runtimeJson, null));
                throw new IOException("expected the attestation service to refuse a token to the host-made launch (MEASUREMENT "
                        + measurementHex + ", the demo group's HOST_DATA), found it issued one");
            } catch (dev.coffer.server.client.ApiClientException e) {
                if (!e.code().equals("measurement_not_endorsed") || !e.getMessage().contains(measurementHex)) {
                    throw new IOException("expected measurement_not_endorsed naming MEASUREMENT " + measurementHex + ", found "
                            + e.code() + ": " + firstLine(e.getMessage()));
                }
                refusals.add(e.code());
            }
        }
        long releasedAfter = s.vault().audit(KEY, 100).stream().filter(a -> a.verdict().equalsIgnoreCase("released")).count();
        if (releasedAfter != releasedBefore) {
            throw new IOException("expected no release of " + KEY + " beyond the genuine guest's, found " + (releasedAfter - releasedBefore) + " more");
        }
        return "a host-made launch with the group's host data " + hostData.substring(0, 16) + "… and MEASUREMENT "
                + measurementHex.substring(0, 16) + "… (endorsed by no trusted endorser) got no token, so no key: "
                + String.join(" (bare), ", refusals) + " (replaying the genuine guest's endorsement)";
    }

    /** The token's claims once it verifies with the service's key (the channel's JWS code, as the vault checks it). */
    private static com.fasterxml.jackson.databind.JsonNode verified(CofferServer s, String token) throws Exception {
        dev.coffer.channel.CompactJws jws = dev.coffer.channel.CompactJws.parse(token, "the attestation token");
        JWK key = s.signingKeys().publicJwks().getKeyByKeyId(jws.kid());
        if (key == null) throw new IOException("the token's key " + jws.kid() + " is not in the service's JWKS");
        var publicKey = dev.coffer.channel.Jwk.publicKey(new com.fasterxml.jackson.databind.ObjectMapper().readTree(key.toPublicJWK().toJSONString()));
        if (!jws.verifiesWith(publicKey)) throw new IOException("the attestation token's signature does not verify");
        return jws.payloadJson("the attestation token");
    }

    /**
     * {@code key-released}: the vault gets a fresh 256-bit key whose release policy requires the
     * demo group's HOST_DATA; the key holder container releases it through the SKR API and prints
     * its fingerprint, which must be the vault key's.
     */
    String keyReleased(String group) throws Exception {
        return keyReleased(group, wait -> {
            ContainerRecord holder = groups.waitFor(group, KEY_HOLDER, wait);
            return new HolderOutput(holder.exitCode(), groups.readLog(group, KEY_HOLDER));
        });
    }

    /** What the key holder container did: its exit code (null while it runs) and its output. */
    record HolderOutput(Integer exitCode, String log) {}

    /** How a step waits for the key holder: through the group's own records, or (a pod's) through CRI. */
    @FunctionalInterface
    interface KeyHolder {
        /** Waits up to {@code wait} for the key holder to exit, and returns what it did. */
        HolderOutput await(Duration wait) throws Exception;
    }

    /** {@link #keyReleased(String)}, reading the key holder's outcome through {@code keyHolder} (a pod's is CRI's). */
    String keyReleased(String group, KeyHolder keyHolder) throws Exception {
        CofferServer s = server();
        String hostData = groups.status(group).hostData();
        keyMaterial = new byte[32];
        new SecureRandom().nextBytes(keyMaterial);
        ObjectNode jwk = JsonNodeFactory.instance.objectNode().put("kty", "oct")
                .put("k", Base64.getUrlEncoder().withoutPadding().encodeToString(keyMaterial));
        // The vault lives in $COFFER_HOME and outlives a demo run; the key of an earlier run is
        // bound to that run's HOST_DATA (its policy pinned another vault URL), so it is replaced.
        if (s.vault().list().stream().anyMatch(k -> k.name().equals(KEY))) s.vault().delete(KEY);
        s.vault().importKey(KEY, jwk, true, ReleasePolicies.forCofferGuest(s.issuerName(), hostData, RunOptions.TEE_SIM), false);
        String fingerprint = HEX.formatHex(sha256(keyMaterial));
        HolderOutput holder = keyHolder.await(keyWait);
        String log = holder.log();
        if (holder.exitCode() == null || holder.exitCode() != 0 || !log.contains("released key sha256: " + fingerprint)) {
            throw new IOException("expected container " + KEY_HOLDER + " to print the vault key's fingerprint " + fingerprint
                    + ", found exit " + holder.exitCode() + " and output: " + log.strip());
        }
        return "container " + KEY_HOLDER + " released " + KEY + " through the SKR API on 127.0.0.1:" + SKR_PORT
                + " inside the group; sha256 " + fingerprint + " = the vault key's (release policy: x-ms-compliance-status ="
                + " coffer-compliant-guest, x-ms-sevsnpvm-hostdata = " + hostData.substring(0, 16) + "…, not debuggable)";
    }

    /**
     * {@code key-refused-modified-policy}: a second launch of the key holder alone (so another
     * policy, so another HOST_DATA) asks for the same key; the vault refuses, and its audit names
     * the claim that failed.
     */
    String keyRefusedModifiedPolicy(String image) throws Exception {
        CofferServer s = server();
        for (GroupStatus g : groups.list()) {
            if (g.name().equals(MODIFIED_GROUP)) groups.rm(MODIFIED_GROUP, true);
        }
        String yaml = "name: " + MODIFIED_GROUP + "\ncontainers:\n" + keyHolderYaml(image, s.url(), 1) + skrSection(s.url(), s.pins())
                + DemoRun.scratchSection(isolation);
        try {
            GroupSpec spec = GroupSpecParser.parse(yaml, "modified demo group");
            String endorsed = endorseLaunch(spec);
            groups.run(spec, RunOptions.defaults().withIsolation(isolation).withTee(RunOptions.TEE_SIM));
            GroupStatus modified = groups.status(MODIFIED_GROUP);
            requireEndorsed(MODIFIED_GROUP, endorsed, modified);
            ContainerRecord holder = groups.waitFor(MODIFIED_GROUP, KEY_HOLDER, keyWait);
            String log = groups.readLog(MODIFIED_GROUP, KEY_HOLDER);
            if (holder.exitCode() == null || holder.exitCode() == 0 || log.contains("released key")) {
                throw new IOException("expected the modified launch to be refused the key, found exit " + holder.exitCode()
                        + " and output: " + log.strip());
            }
            List<AuditEntry> audit = s.vault().audit(KEY, 10);
            AuditEntry refusal = audit.stream().filter(a -> a.reason() != null && a.reason().contains("x-ms-sevsnpvm-hostdata"))
                    .findFirst().orElseThrow(() -> new IOException("expected the vault's audit to record a refusal naming"
                            + " x-ms-sevsnpvm-hostdata, found " + audit));
            return "launch " + MODIFIED_GROUP + " (host data " + modified.hostData().substring(0, 16) + "…, same measurement) got no key: "
                    + refusal.code() + ": " + firstLine(refusal.reason());
        } finally {
            try {
                groups.rm(MODIFIED_GROUP, true);
            } catch (IOException ignored) {
                // not started; the refusal (or the start failure) is what the step reports
            }
        }
    }

    static final String VOLUME_GROUP = "coffer-demo-volume";
    static final String VOLUME_KEY = "coffer-demo-volume-key";
    static final String VOLUME_SECRET = "coffer-demo-secret";

    /**
     * {@code encrypted-volume-mounted}: a fresh LUKS2 volume keyed by a new vault key whose release
     * policy requires the HOST_DATA of a small group that mounts it; the group's agent releases the
     * key with its evidence, opens the volume with dm-crypt and its container writes and reads a
     * file there; the image on the host then holds only ciphertext. The volume is authenticated
     * (dm-integrity, HMAC-SHA256) and the policy pins its header digest, which the step shows.
     * Creating it needs device-mapper on the host, and the process sandbox needs it to open it:
     * without it the step is skipped (reported as such, never as succeeded) with the reason.
     */
    String encryptedVolumeMounted(String image, String isolation) throws Exception {
        String missing = dev.coffer.agent.volume.EncryptedVolume.unavailableReason();
        if (missing != null) {
            throw new DemoReport.Skipped(missing + (ProcessSandboxBackend.NAME.equals(isolation)
                    ? " (run `coffer demo --isolation microvm` on a host with device-mapper to see this step)"
                    : "; this host cannot create the authenticated (dm-integrity) volume the step opens in the microVM"));
        }
        CofferServer s = server();
        for (GroupStatus g : groups.list()) {
            if (g.name().equals(VOLUME_GROUP)) groups.rm(VOLUME_GROUP, true);
        }
        java.nio.file.Path dir = home.resolve("demo-volume");
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Path volume = dir.resolve("data.img");
        java.nio.file.Files.deleteIfExists(volume);
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        try {
            dev.coffer.agent.volume.EncryptedVolume.create(volume, dev.coffer.agent.volume.EncryptedVolume.MIN_SIZE, key,
                    dev.coffer.agent.volume.VolumeIntegrity.HMAC_SHA256);
            String headerDigest = dev.coffer.agent.volume.Luks2Header.read(volume).digest();
            String yaml = """
                    name: %s
                    containers:
                      - name: writer
                        image: %s
                        command: [sh, -c]
                        args: ["echo %s > /data/secret.txt && cat /data/secret.txt"]
                        volumeMounts: [{name: data, mountPath: /data}]
                    volumes:
                      - name: data
                        encrypted: {source: "%s", key: %s, authority: "%s", vault: "%s", headerDigest: %s, integrity: hmac-sha256}
                    """.formatted(VOLUME_GROUP, image, VOLUME_SECRET, volume, VOLUME_KEY, s.url(), s.url(), headerDigest)
                    + DemoRun.scratchSection(isolation);
            dev.coffer.policy.gen.GeneratedPolicy policy;
            try (dev.coffer.oci.store.ImageStore store = dev.coffer.oci.store.ImageStore.open(home)) {
                policy = new dev.coffer.policy.gen.PolicyGenerator(new dev.coffer.policy.gen.StoreImageSource(store))
                        .generate(dev.coffer.policy.model.GroupPolicyInput.parse(yaml, "demo volume group"), false);
            }
            java.nio.file.Path policyFile = dir.resolve("policy.rego");
            java.nio.file.Files.write(policyFile, policy.bytes());
            if (s.vault().list().stream().anyMatch(k -> k.name().equals(VOLUME_KEY))) s.vault().delete(VOLUME_KEY);
            ObjectNode jwk = JsonNodeFactory.instance.objectNode().put("kty", "oct")
                    .put("k", Base64.getUrlEncoder().withoutPadding().encodeToString(key));
            s.vault().importKey(VOLUME_KEY, jwk, true, ReleasePolicies.forCofferGuest(s.issuerName(), policy.sha256(), RunOptions.TEE_SIM), false);
            try {
                GroupSpec spec = GroupSpecParser.parse(yaml, "demo volume group");
                String endorsed = endorseLaunch(spec);
                groups.run(spec, RunOptions.defaults().withIsolation(isolation)
                        .withPolicy(policyFile.toString()).withTee(RunOptions.TEE_SIM));
                requireEndorsed(VOLUME_GROUP, endorsed, groups.status(VOLUME_GROUP));
                ContainerRecord writer = groups.waitFor(VOLUME_GROUP, "writer", Duration.ofSeconds(60));
                String log = groups.readLog(VOLUME_GROUP, "writer");
                if (writer.exitCode() == null || writer.exitCode() != 0 || !log.contains(VOLUME_SECRET)) {
                    throw new IOException("expected container writer to write and read " + VOLUME_SECRET + " on the volume, found exit "
                            + writer.exitCode() + " and output: " + log.strip());
                }
            } finally {
                try {
                    groups.rm(VOLUME_GROUP, true);
                } catch (IOException ignored) {
                    // not started: the run's error is what the step reports
                }
            }
            byte[] image0 = java.nio.file.Files.readAllBytes(volume);
            if (indexOf(image0, VOLUME_SECRET.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) >= 0) {
                throw new IOException("expected only ciphertext in " + volume + ", found the secret in plain text");
            }
            return "group " + VOLUME_GROUP + " released " + VOLUME_KEY + " (release policy: its HOST_DATA "
                    + policy.sha256().substring(0, 16) + "…), checked the LUKS2 header its policy pins (sha256 " + headerDigest
                    + ") and opened " + volume.getFileName() + " (LUKS2, aes-xts-plain64 + dm-integrity hmac-sha256) and its container"
                    + " wrote and read /data/secret.txt; the image on the host holds only ciphertext";
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    @Override
    public void close() {
        if (server != null) server.close();
        if (keyMaterial != null) java.util.Arrays.fill(keyMaterial, (byte) 0);
    }
}
