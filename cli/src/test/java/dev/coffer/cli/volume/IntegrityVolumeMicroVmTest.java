package dev.coffer.cli.volume;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.agent.volume.Luks2Header;
import dev.coffer.agent.volume.VolumeIntegrity;
import dev.coffer.cli.Json;
import dev.coffer.cli.Main;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.StoreImageSource;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupException;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.policy.ReleasePolicies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An authenticated (LUKS2 + dm-integrity HMAC-SHA256) volume on a real kernel, made on a host
 * without device-mapper: {@code coffer volume create} formats it in a short-lived microVM of the
 * guest (TCG here), a group opens it through the policy path (key from the vault, header digest
 * pinned) and writes two files, the host flips one byte of one file's sectors in the image, and
 * in the next run reading that file fails with an I/O error the container sees while the other
 * file still reads. Then what a hostile host that formatted the volume itself could hand over,
 * a null-cipher header and an extra keyslot, is refused in the microVM even when the policy pins
 * exactly that header, before the key is released.
 */
class IntegrityVolumeMicroVmTest {
    static final String IMAGE = "coffer.test/integrity:1";
    static final String KEY = "integrity-test-key";

    @TempDir
    static Path home;
    static CofferServer server;
    static GroupManager groups;

    @BeforeAll
    static void setUp() throws Exception {
        Assumptions.assumeTrue(EncryptedVolume.unavailableReason() != null,
                "this host has device-mapper: volume create formats here, not in a microVM");
        BusyboxImage.importInto(home, IMAGE, List.of("sh", "cat", "echo", "ls", "dd", "head", "tr", "sync", "rm", "grep", "cut", "sort"));
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        groups = new GroupManager(home);
        // the CLI finds the guest (and the server's certificate) in this home
        System.setProperty("coffer.home", home.toString());
        dev.coffer.runtime.guest.GuestEndorsements.endorseMicroVm(home, new GuestBuilder(home.resolve("guest"), step -> { }).build());
    }

    @AfterAll
    static void tearDown() {
        System.clearProperty("coffer.home");
        if (server != null) server.close();
    }

    static CliRun cli(String... args) throws Exception {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("volume")) cli.addSubcommand(new VolumeCommand());
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--server", server.url(), "--token", Files.readString(home.resolve("server/admin-token")).strip()));
        return CliRun.execute(cli, all.toArray(String[]::new));
    }

    static String spec(String name, String script, Path volume, String headerDigest) {
        return """
                name: %s
                containers:
                  - name: app
                    image: %s
                    command: [sh, -c, "%s"]
                    volumeMounts: [{name: data, mountPath: /data}]
                volumes:
                  - name: data
                    encrypted: {source: "%s", key: %s, authority: "%s", vault: "%s", headerDigest: %s, integrity: hmac-sha256}
                skr: {enabled: false, pins: [{endpoint: "%s", tls_certificate: '%s', signing_keys: ['%s']}]}
                """.formatted(name, IMAGE, script, volume, KEY, server.url(), server.url(), headerDigest,
                server.url(), server.pins().tlsCertificate(), String.join("', '", server.pins().signingKeys()));
    }

    /** The policy of {@code yaml} written to {@code file}; the vault key is then released to that policy only. */
    static void policyAndRelease(String yaml, Path file) throws Exception {
        GeneratedPolicy p;
        try (ImageStore store = ImageStore.open(home)) {
            p = new PolicyGenerator(new StoreImageSource(store)).generate(GroupPolicyInput.parse(yaml, "test"), false);
        }
        Files.write(file, p.bytes());
        server.vault().setPolicy(KEY, null, ReleasePolicies.forCofferGuest(server.issuerName(), p.sha256(), RunOptions.TEE_SIM), false);
    }

    static RunOptions options(Path policyFile) {
        return RunOptions.defaults().withIsolation("microvm").withTee(RunOptions.TEE_SIM).withPolicy(policyFile.toString())
                .withAgentEnvironment(Map.of("COFFER_ACCEL", "tcg"));
    }

    @Test
    void formattedInAMicroVmOpenedByPolicyAndAFlippedSectorFailsItsRead(@TempDir Path dir) throws Exception {
        // 1. volume create on this host without device-mapper: formatted in a microVM, checked here
        Path volume = dir.resolve("data.img");
        Path placeholder = dir.resolve("release-policy.json");
        // the group's policy pins the header digest, so its HOST_DATA is known only after create: the key's release policy is set then
        Files.writeString(placeholder, Json.MAPPER.writeValueAsString(
                ReleasePolicies.forCofferGuest(server.issuerName(), "00".repeat(32), RunOptions.TEE_SIM)));
        CliRun created = cli("volume", "create", volume.toString(), "--size", "32M", "--key", KEY, "--policy", placeholder.toString(), "-o", "json");
        assertEquals(0, created.exit(), created.err() + created.out());
        assertTrue(created.err().contains("this host has no device-mapper; formatting in a short-lived microVM"), created.err());
        JsonNode out = Json.MAPPER.readTree(created.out());
        assertEquals("hmac-sha256", out.path("integrity").asText());
        String digest = out.path("header_digest").asText();
        Luks2Header header = Luks2Header.read(volume);
        assertEquals(digest, header.digest());
        header.requireCofferShape(VolumeIntegrity.HMAC_SHA256, digest);
        assertEquals("hmac(sha256)", header.integrityType());
        assertFalse(created.out().contains("\"k\"") || created.err().contains("\"k\""), "key material is never printed");
        try (var left = Files.list(home.resolve("volume-format"))) {
            assertEquals(List.of(), left.toList(), "the format VM's run files are removed");
        }

        // a host asking the guest to format a disk that holds a volume: refused in the guest, not a byte written
        Path existing = dir.resolve("existing.img");
        Files.copy(volume, existing);
        byte[] held = Files.readAllBytes(existing);
        java.io.IOException overwrite = assertThrows(java.io.IOException.class, () -> dev.coffer.runtime.microvm.VolumeFormatVm.format(
                home.resolve("guest"), dir.resolve("vm"), existing, new byte[32], "hmac-sha256", "tcg", step -> { }));
        assertTrue(overwrite.getMessage().contains("refusing to format") && overwrite.getMessage().contains("found a non-zero byte at offset 0"),
                overwrite.getMessage());
        assertArrayEquals(held, Files.readAllBytes(existing), "a disk holding data is never formatted");
        Files.delete(existing);

        // 2. run 1 writes a file to keep and a 2 MiB file the host will attack
        String script = "if [ -f /data/keep ]; then echo keep: $(cat /data/keep);"
                + " if cat /data/victim > /dev/null; then echo victim-read-ok; else echo victim-read-failed; fi;"
                + " else echo kept > /data/keep; head -c 2097152 /dev/zero | tr '\\\\000' Z > /data/victim; sync; echo wrote; fi";
        String yaml = spec("integrity-vm", script, volume, digest);
        Path policyFile = dir.resolve("policy.rego");
        policyAndRelease(yaml, policyFile);
        long[] before = blockHashes(volume);
        groups.run(GroupSpecParser.parse(yaml, "t"), options(policyFile));
        assertEquals("wrote", output("integrity-vm"));
        groups.rm("integrity-vm", true);
        long[] after = blockHashes(volume);
        long[] run = longestChangedRun(before, after);
        assertTrue(run[1] >= 512, "expected the 2 MiB file as one run of changed 4 KiB blocks (with its tags), found "
                + run[1] + " blocks at block " + run[0]);

        // 3. the host flips one byte in the middle of that file's sectors; run 2 reads it and the other file
        long flipAt = (run[0] + run[1] / 2) * 4096 + 123;
        flipByte(volume, flipAt);
        groups.run(GroupSpecParser.parse(yaml, "t"), options(policyFile));
        String second = output("integrity-vm");
        String console = Files.readString(groups.groupDir("integrity-vm").resolve("vm/console.log"));
        groups.rm("integrity-vm", true);
        assertTrue(second.startsWith("keep: kept\n"), "the untouched file still reads: " + second);
        assertTrue(second.contains("victim-read-failed"), "the read of the flipped sector must fail: " + second);
        // dm-crypt fails the bio (BLK_STS_PROTECTION); a buffered read reaches the container as EIO
        assertTrue(second.contains("cat: read error: Input/output error"), "the container sees the I/O error: " + second);
        assertTrue(console.contains("INTEGRITY AEAD ERROR"), "the guest kernel names the authentication failure");
        System.out.println("flipped the byte at image offset " + flipAt + "; the container saw: "
                + second.lines().filter(l -> l.contains("error")).findFirst().orElse(second) + "; the file next to it still read");

        // 4. a hostile host that formatted the volume itself hands over a null-cipher header (CVE-2025-59054) or one with a
        // keyslot of its own, and the user pinned that header's digest: the agent in the microVM still refuses before the key
        Path nullCipher = dir.resolve("null-cipher.img");
        Files.copy(volume, nullCipher);
        editJson(nullCipher, j -> j.replace("\"encryption\":\"aes-xts-plain64\",\"sector_size\"", "\"encryption\":\"cipher_null-ecb\",\"sector_size\""));
        refusedInTheMicroVm(dir, nullCipher, "segments.0.encryption");

        Path extraSlot = dir.resolve("extra-slot.img");
        Files.copy(volume, extraSlot);
        editJson(extraSlot, j -> {
            // a second keyslot, a copy of the first at another area: what luksAddKey with the host's passphrase would add
            int start = j.indexOf("\"keyslots\":{\"0\":") + "\"keyslots\":{".length();
            int end = j.indexOf("},\"tokens\"");
            String slot0 = j.substring(start + "\"0\":".length(), end);
            return j.substring(0, end) + ",\"1\":" + slot0 + j.substring(end);
        });
        refusedInTheMicroVm(dir, extraSlot, "keyslots");
    }

    /**
     * The cost of integrity on a real kernel: one group in the microVM (TCG, 1 vCPU) with a plain
     * XTS volume and an XTS + HMAC-SHA256 volume of the same size, 8 MiB written and read back
     * with O_DIRECT on each (so the dm path, not the page cache). Printed, not asserted: a
     * measurement, not a check, so it runs only when asked for (three minutes of the suite under
     * TCG otherwise): {@code mvn -pl cli test -Dtest=IntegrityVolumeMicroVmTest -Dcoffer.bench=true}.
     */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "coffer.bench", matches = "true")
    void throughputOfPlainXtsAndXtsWithHmacInTheMicroVm(@TempDir Path dir) throws Exception {
        Path placeholder = dir.resolve("release-policy.json");
        Files.writeString(placeholder, Json.MAPPER.writeValueAsString(
                ReleasePolicies.forCofferGuest(server.issuerName(), "00".repeat(32), RunOptions.TEE_SIM)));
        Map<String, String> digests = new java.util.LinkedHashMap<>();
        for (String mode : List.of("none", "hmac-sha256")) {
            Path image = dir.resolve(mode + ".img");
            CliRun created = cli("volume", "create", image.toString(), "--size", "32M", "--key", "bench-" + mode, "--policy",
                    placeholder.toString(), "--integrity", mode, "-o", "json");
            assertEquals(0, created.exit(), created.err() + created.out());
            digests.put(mode, Json.MAPPER.readTree(created.out()).path("header_digest").asText());
        }
        StringBuilder script = new StringBuilder();
        for (String mode : digests.keySet()) {
            String m = "/" + mode;
            script.append("read t0 x < /proc/uptime; dd if=/dev/zero of=").append(m).append("/bench bs=1M count=8 oflag=direct conv=fsync 2>/dev/null;")
                    .append(" read t1 x < /proc/uptime; dd if=").append(m).append("/bench of=/dev/null bs=1M iflag=direct 2>/dev/null;")
                    .append(" read t2 x < /proc/uptime; echo ").append(mode).append(" $t0 $t1 $t2; rm ").append(m).append("/bench; ");
        }
        // the AEADs the guest kernel has loaded (modules it has but did not load do not show)
        script.append("echo aead-loaded: $(grep -B10 -E 'type +: aead' /proc/crypto | grep '^name' | cut -d: -f2 | sort -u)");
        StringBuilder volumes = new StringBuilder();
        StringBuilder mounts = new StringBuilder();
        for (Map.Entry<String, String> v : digests.entrySet()) {
            String name = v.getKey().equals("none") ? "plain" : "auth";
            mounts.append(mounts.isEmpty() ? "" : ", ").append("{name: ").append(name).append(", mountPath: /").append(v.getKey()).append("}");
            volumes.append("  - name: ").append(name).append("\n    encrypted: {source: \"").append(dir.resolve(v.getKey() + ".img"))
                    .append("\", key: bench-").append(v.getKey()).append(", authority: \"").append(server.url()).append("\", vault: \"")
                    .append(server.url()).append("\", headerDigest: ").append(v.getValue()).append(", integrity: ").append(v.getKey()).append("}\n");
        }
        String yaml = """
                name: integrity-bench
                containers:
                  - name: app
                    image: %s
                    command: [sh, -c, "%s"]
                    volumeMounts: [%s]
                volumes:
                %s
                skr: {enabled: false, pins: [{endpoint: "%s", tls_certificate: '%s', signing_keys: ['%s']}]}
                """.formatted(IMAGE, script.toString().replace("\"", "\\\""), mounts, volumes.toString().stripTrailing(),
                server.url(), server.pins().tlsCertificate(), String.join("', '", server.pins().signingKeys()));
        GeneratedPolicy p;
        try (ImageStore store = ImageStore.open(home)) {
            p = new PolicyGenerator(new StoreImageSource(store)).generate(GroupPolicyInput.parse(yaml, "bench"), false);
        }
        Path policyFile = dir.resolve("bench.rego");
        Files.write(policyFile, p.bytes());
        for (String mode : digests.keySet()) {
            server.vault().setPolicy("bench-" + mode, null, ReleasePolicies.forCofferGuest(server.issuerName(), p.sha256(), RunOptions.TEE_SIM), false);
        }
        groups.run(GroupSpecParser.parse(yaml, "t"), options(policyFile));
        String out = output("integrity-bench");
        groups.rm("integrity-bench", true);
        System.out.println("volume throughput in the microVM (TCG, 1 vCPU), LUKS2 " + EncryptedVolume.CIPHER + ", 4 KiB sectors,"
                + " 8 MiB with O_DIRECT:");
        for (String mode : digests.keySet()) {
            String line = out.lines().filter(l -> l.startsWith(mode + " ")).findFirst().orElseThrow(() -> new AssertionError(out));
            String[] t = line.split("\\s+");
            double write = Double.parseDouble(t[2]) - Double.parseDouble(t[1]);
            double read = Double.parseDouble(t[3]) - Double.parseDouble(t[2]);
            System.out.printf("  integrity %-12s write %6.2f MiB/s (%.2f s)  read %6.2f MiB/s (%.2f s)%n", mode, 8 / write, write, 8 / read, read);
        }
        System.out.println("  " + out.lines().filter(l -> l.startsWith("aead-loaded:")).findFirst().orElse("aead-loaded: (no answer)"));
    }

    private void refusedInTheMicroVm(Path dir, Path image, String field) throws Exception {
        String pinned = Luks2Header.read(image).digest();
        String yaml = spec("integrity-hostile", "cat /data/keep", image, pinned);
        Path policyFile = dir.resolve("hostile-" + image.getFileName() + ".rego");
        policyAndRelease(yaml, policyFile);
        int audited = server.vault().audit(KEY, 1000).size();
        byte[] bytes = Files.readAllBytes(image);
        GroupException e = assertThrows(GroupException.class, () -> groups.run(GroupSpecParser.parse(yaml, "t"), options(policyFile)));
        assertTrue(e.getMessage().contains("refused encrypted volume data") && e.getMessage().contains(field), e.getMessage());
        assertFalse(Files.exists(groups.groupDir("integrity-hostile")), "nothing runs on a refused volume");
        assertEquals(audited, server.vault().audit(KEY, 1000).size(), "the key is not asked for");
        assertArrayEquals(bytes, Files.readAllBytes(image), "a refused volume is not written");
        System.out.println("refused in the microVM: " + e.getMessage().lines().findFirst().orElse(""));
    }

    static String output(String group) throws Exception {
        ContainerRecord app = groups.waitFor(group, "app", Duration.ofSeconds(300));
        String log = groups.readLog(group, "app").strip();
        assertEquals(Integer.valueOf(0), app.exitCode(), log);
        return log;
    }

    /** Rewrites the JSON of both header copies and recomputes their (unkeyed) checksums, as the published attack does. */
    static void editJson(Path file, UnaryOperator<String> edit) throws Exception {
        int size = Luks2Header.HEADER_SIZE;
        byte[] h = new byte[2 * size];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(ByteBuffer.wrap(h), 0);
            for (int copy = 0; copy < 2; copy++) {
                int base = copy * size;
                int end = base + 4096;
                while (h[end] != 0) end++;
                String json = new String(h, base + 4096, end - base - 4096, StandardCharsets.UTF_8);
                byte[] text = edit.apply(json).getBytes(StandardCharsets.UTF_8);
                assertFalse(Arrays.equals(text, json.getBytes(StandardCharsets.UTF_8)), "the edit changed the metadata");
                Arrays.fill(h, base + 4096, base + size, (byte) 0);
                System.arraycopy(text, 0, h, base + 4096, text.length);
                Arrays.fill(h, base + 448, base + 512, (byte) 0);
                byte[] sum = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOfRange(h, base, base + size));
                System.arraycopy(sum, 0, h, base + 448, sum.length);
            }
            ch.write(ByteBuffer.wrap(h), 0);
        }
    }

    static long[] blockHashes(Path file) throws Exception {
        byte[] all = Files.readAllBytes(file);
        long[] hashes = new long[all.length / 4096];
        for (int b = 0; b < hashes.length; b++) hashes[b] = Arrays.hashCode(Arrays.copyOfRange(all, b * 4096, (b + 1) * 4096));
        return hashes;
    }

    /** {start, length} of the longest run of blocks that differ. */
    static long[] longestChangedRun(long[] before, long[] after) {
        long bestStart = 0, bestLength = 0, start = -1;
        for (int b = 0; b <= after.length; b++) {
            boolean changed = b < after.length && before[b] != after[b];
            if (changed && start < 0) start = b;
            if (!changed && start >= 0) {
                if (b - start > bestLength) {
                    bestStart = start;
                    bestLength = b - start;
                }
                start = -1;
            }
        }
        return new long[] {bestStart, bestLength};
    }

    static void flipByte(Path file, long offset) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            ch.write(b.rewind(), offset);
            ch.force(true);
        }
    }
}
