package dev.coffer.attest.measure;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

class LaunchMeasurementTest {
    /** Computed independently with Python's hashlib from the algorithm in the class comment. */
    static final String MICROVM_VECTOR = "c281bf444a37c71ff6094bacff82b03406214780bd2bdcdc0dc1dda6afbea4b7bb5831922854afaaf88244231b86e3c2";

    @Test
    void matchesAnIndependentlyComputedVectorRegardlessOfOrder(@TempDir Path tmp) throws Exception {
        Path kernel = Files.write(tmp.resolve("vmlinuz"), "vmlinuz-bytes".getBytes());
        byte[] a = new LaunchMeasurement().addFile(LaunchMeasurement.KERNEL, kernel)
                .add(LaunchMeasurement.INITRD, "initrd-bytes".getBytes()).addText(LaunchMeasurement.CMDLINE, "console=ttyS0 quiet").compute();
        byte[] b = new LaunchMeasurement().addText(LaunchMeasurement.CMDLINE, "console=ttyS0 quiet")
                .add(LaunchMeasurement.INITRD, "initrd-bytes".getBytes()).add(LaunchMeasurement.KERNEL, "vmlinuz-bytes".getBytes()).compute();
        assertEquals(MICROVM_VECTOR, HexFormat.of().formatHex(a));
        assertArrayEquals(a, b);
        assertEquals(48, a.length);
    }

    @Test
    void anyChangeToAnArtifactOrItsNameChangesTheMeasurement() {
        byte[] base = new LaunchMeasurement().addText("agent", "code").addText("launch-parameters", "x").compute();
        assertFalse(java.util.Arrays.equals(base, new LaunchMeasurement().addText("agent", "code!").addText("launch-parameters", "x").compute()));
        assertFalse(java.util.Arrays.equals(base, new LaunchMeasurement().addText("agent2", "code").addText("launch-parameters", "x").compute()));
        // Moving bytes between name and content must not collide (length prefixes).
        assertFalse(java.util.Arrays.equals(new LaunchMeasurement().addText("ab", "c").compute(), new LaunchMeasurement().addText("a", "bc").compute()));
    }

    @Test
    void duplicateAndEmptyInputsAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new LaunchMeasurement().addText("kernel", "a").addText("kernel", "b"));
        assertTrue(e.getMessage().contains("added twice"));
        assertThrows(IllegalArgumentException.class, () -> new LaunchMeasurement().addText("", "a"));
        assertThrows(IllegalStateException.class, () -> new LaunchMeasurement().compute());
    }

    @Test
    void hostDataIsSha256OfThePolicyText() {
        assertEquals("89d09cb5c2f579afa733a1f68ae0dd5ff13e59efa75b870c64ca9fd62e9ec139", HexFormat.of().formatHex(HostData.ofPolicy("package policy\n")));
    }

    @Test
    void requireMatchesRefusesAnotherPolicy() {
        byte[] hostData = HostData.ofPolicy("package policy\n");
        HostData.requireMatches(hostData, "package policy\n".getBytes());
        var e = assertThrows(IllegalStateException.class, () -> HostData.requireMatches(hostData, "package policy\nallow := true\n".getBytes()));
        assertTrue(e.getMessage().contains("but HOST_DATA is 89d09cb5"), e.getMessage());
    }
}
