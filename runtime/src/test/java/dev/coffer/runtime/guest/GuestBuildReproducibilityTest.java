package dev.coffer.runtime.guest;

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

/** Two builds from the same packages and jars give byte-identical guests and the same measurement. */
class GuestBuildReproducibilityTest {
    @Test
    void twoBuildsAreByteIdentical(@TempDir Path tmp) throws Exception {
        List<String> progress = new ArrayList<>();
        GuestImage a = new GuestBuilder(tmp.resolve("a"), progress::add).build();
        GuestImage b = new GuestBuilder(tmp.resolve("b"), progress::add).build();
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
