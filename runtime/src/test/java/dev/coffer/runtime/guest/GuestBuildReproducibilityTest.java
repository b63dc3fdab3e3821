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
            assertEquals(-1L, Files.mismatch(a.dir().resolve(file), b.dir().resolve(file)), file + " differs between builds");
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
}
