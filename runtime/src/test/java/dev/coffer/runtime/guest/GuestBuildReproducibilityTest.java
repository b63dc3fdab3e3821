package dev.coffer.runtime.guest;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two builds from the same packages and jars give byte-identical guests and the same measurement;
 * and what they build holds what the guest's start relies on (Bouncy Castle's classes in the
 * agent's class-data-sharing archive).
 */
class GuestBuildReproducibilityTest {
    @TempDir
    static Path tmp;
    static GuestImage a;
    static GuestImage b;
    static final List<String> progress = new ArrayList<>();

    @BeforeAll
    static void buildTwice() throws Exception {
        a = new GuestBuilder(tmp.resolve("a"), progress::add).build();
        b = new GuestBuilder(tmp.resolve("b"), progress::add).build();
    }

    @Test
    void twoBuildsAreByteIdentical() throws Exception {
        for (String file : List.of(GuestImage.KERNEL_FILE, GuestImage.INITRD_FILE, GuestImage.AGENT_DISK_FILE)) {
            long at = Files.mismatch(a.dir().resolve(file), b.dir().resolve(file));
            String where = at >= 0 && file.equals(GuestImage.AGENT_DISK_FILE) ? " (" + fileAt(a.dir().resolve(file), at) + ")" : "";
            assertEquals(-1L, at, file + " differs between builds" + where);
        }
        assertEquals(a.cmdline(), b.cmdline());
        assertArrayEquals(a.measurement().compute(), b.measurement().compute());
        assertEquals(-1L, Files.mismatch(a.dir().resolve(GuestImage.MANIFEST), b.dir().resolve(GuestImage.MANIFEST)));
        assertTrue(a.cmdline().contains("coffer.agentdisk=" + a.agentRootHash() + "," + a.agentDataBlocks()));
        assertTrue(progress.stream().anyMatch(p -> p.startsWith("jlink")), "progress names the steps: " + progress);
        System.out.println("guest measurement " + HexFormat.of().formatHex(a.measurement().compute()));
        // the reloaded manifest describes the same guest
        assertEquals(a, GuestImage.load(a.dir()));
        // the stage is removed after the build: nothing left behind in /tmp
        assertTrue(Files.notExists(GuestBuilder.STAGE));
    }

    /**
     * The agent disk's CDS archive holds the Bouncy Castle classes the agent signs and parses with
     * (its jars are staged unsigned, so CDS may archive them), and not all of Bouncy Castle. Read
     * from the built disk itself: its files are copied out with debugfs, and the disk's own JRE
     * lists the archive's classes with the guest's JVM options and class path (relocated here).
     */
    @Test
    void theAgentArchiveHoldsTheBouncyCastleClassesTheAgentUses() throws Exception {
        Path out = tmp.resolve("a-files");
        Files.createDirectories(out);
        debugfs(a.dir().resolve(GuestImage.AGENT_DISK_FILE), "rdump / " + out);
        Path jsa = out.resolve("agent/agent.jsa");
        assertTrue(Files.isRegularFile(jsa), "expected agent/agent.jsa on the agent disk, found: " + listing(out));
        String classpath = Files.readString(out.resolve("agent/classpath")).strip()
                .replace(GuestBuilder.GUEST_MOUNT + "/", out + "/");
        try (var jars = Files.list(out.resolve("agent"))) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                try (var z = new java.util.zip.ZipFile(jar.toFile())) {
                    assertTrue(z.stream().noneMatch(e -> AgentDisk.isSignatureFile(e.getName())), jar + " is still signed on the agent disk");
                }
            }
        }
        List<String> cmd = new ArrayList<>(List.of(out.resolve("jre/bin/java").toString()));
        cmd.addAll(GuestBuilder.JVM_OPTIONS.stream().filter(o -> !o.startsWith("-Xshare")).toList());
        cmd.addAll(List.of("-Xshare:on", "-XX:SharedArchiveFile=" + jsa, "-XX:+PrintSharedArchiveAndExit", "-cp", classpath));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "the disk's JRE could not map its archive: " + listing.lines().limit(40).toList());
        List<String> bc = listing.lines().map(String::strip).filter(l -> l.matches("\\d+: org\\.bouncycastle\\..*"))
                .map(l -> l.split("\\s+")[1]).toList();
        System.out.println("agent archive: " + Files.size(jsa) + " bytes, " + bc.size() + " Bouncy Castle classes");
        // what the simulated secure processor's report signing and key parsing in the guest need
        for (String c : List.of("org.bouncycastle.crypto.signers.ECDSASigner", "org.bouncycastle.crypto.params.ECPrivateKeyParameters",
                "org.bouncycastle.asn1.ASN1InputStream", "org.bouncycastle.math.ec.custom.sec.SecP384R1Curve")) {
            assertTrue(bc.contains(c), "expected " + c + " in the agent's archive, found " + bc.size() + " Bouncy Castle classes");
        }
        // the training run's classes, not the whole of Bouncy Castle (several thousand classes)
        assertTrue(bc.size() < 2000, "expected only the Bouncy Castle classes the agent uses, found " + bc.size());
    }

    private static String listing(Path dir) throws Exception {
        try (var s = Files.walk(dir, 2)) {
            return s.map(dir::relativize).map(Path::toString).sorted().toList().toString();
        }
    }

    /** Which file of the ext4 agent disk holds byte {@code offset}: what a failure must name to be diagnosable. */
    private static String fileAt(Path image, long offset) {
        try {
            long block = offset / 4096;
            String inode = debugfs(image, "icheck " + block).lines().skip(1).map(l -> l.trim().split("\\s+"))
                    .filter(f -> f.length == 2).map(f -> f[1]).findFirst().orElse("?");
            return "block " + block + ", " + debugfs(image, "ncheck " + inode).lines().skip(1).findFirst().orElse("inode " + inode)
                    .trim() + ", byte " + offset % 4096 + " of the block";
        } catch (Exception e) {
            return "debugfs could not say which file: " + e.getMessage();
        }
    }

    private static String debugfs(Path image, String request) throws Exception {
        Process p = new ProcessBuilder("debugfs", "-R", request, image.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
