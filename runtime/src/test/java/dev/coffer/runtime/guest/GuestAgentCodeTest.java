package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A guest built by another Coffer is noticed before its agent runs. */
class GuestAgentCodeTest {
    private static GuestImage guest(Path dir, String agentCode) {
        return new GuestImage(dir, "6.1.0-test", "ab".repeat(32), 10, "console=ttyS0", agentCode);
    }

    @Test
    void onlyAGuestCarryingThisCoffersAgentIsAccepted(@TempDir Path dir) {
        String current = GuestBuilder.agentCodeDigest();
        assertTrue(current.matches("[0-9a-f]{64}"), current);
        guest(dir, current).requireCurrentAgent();
        GuestBuildException other = assertThrows(GuestBuildException.class, () -> guest(dir, "0".repeat(64)).requireCurrentAgent());
        assertTrue(other.getMessage().contains("from other agent code") && other.getMessage().contains("`coffer guest build`"),
                other.getMessage());
        GuestBuildException old = assertThrows(GuestBuildException.class, () -> guest(dir, "").requireCurrentAgent());
        assertTrue(old.getMessage().contains("by an older Coffer"), old.getMessage());
    }

    @Test
    void theManifestKeepsTheDigestAndAnOlderManifestReadsAsUnknown(@TempDir Path dir) throws Exception {
        for (String f : new String[] {GuestImage.KERNEL_FILE, GuestImage.INITRD_FILE}) Files.write(dir.resolve(f), new byte[1]);
        Files.write(dir.resolve(GuestImage.AGENT_DISK_FILE), new byte[11 * 4096]);
        GuestImage g = guest(dir, GuestBuilder.agentCodeDigest());
        g.write();
        assertEquals(g, GuestImage.load(dir));
        Path m = dir.resolve(GuestImage.MANIFEST);
        Files.writeString(m, Files.readString(m).replaceAll(",\\s*\"agentCode\" : \"[0-9a-f]+\"", ""));
        assertTrue(!Files.readString(m).contains("agentCode"), Files.readString(m));
        assertEquals("", GuestImage.load(dir).agentCode());
    }

    @Test
    void classesReadTheSameFromAJarAndFromTheirDirectory(@TempDir Path tmp) throws Exception {
        Path classes = Files.createDirectories(tmp.resolve("classes/dev/coffer/x"));
        Files.write(classes.resolve("A.class"), new byte[] {(byte) 0xca, (byte) 0xfe, 1});
        Files.write(classes.resolve("notes.txt"), new byte[] {9});
        Files.createDirectories(tmp.resolve("classes/org/other"));
        Files.write(tmp.resolve("classes/org/other/B.class"), new byte[] {2});
        Path jar = tmp.resolve("x.jar");
        AgentDisk.stageJar(tmp.resolve("classes"), jar);
        Map<String, byte[]> fromDir = new TreeMap<>();
        Map<String, byte[]> fromJar = new TreeMap<>();
        AgentDisk.collectClasses(tmp.resolve("classes"), "dev/coffer/", fromDir);
        AgentDisk.collectClasses(jar, "dev/coffer/", fromJar);
        assertEquals(java.util.List.of("dev/coffer/x/A.class"), java.util.List.copyOf(fromDir.keySet()));
        assertEquals(fromDir.keySet(), fromJar.keySet());
        assertArrayEquals(fromDir.get("dev/coffer/x/A.class"), fromJar.get("dev/coffer/x/A.class"));
    }
}
