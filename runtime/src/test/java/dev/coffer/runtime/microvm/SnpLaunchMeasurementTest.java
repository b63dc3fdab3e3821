package dev.coffer.runtime.microvm;

import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.SnpSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The MEASUREMENT `coffer guest measure --snp` predicts is that of the very launch `coffer run
 * --tee snp` makes: the guest's bzImage (not the vmlinux the microVM boots), its initramfs and
 * command line, the vCPU count and type, SEV_FEATURES 0x1, QEMU's VMSAs. Checked against a value
 * computed by the reference implementation (virtee/sev-snp-measure, the attest module's
 * ReferenceCrossCheckTest case "snp 8 vCPU EPYC-Genoa, kernel+initrd+append") for the same bytes.
 */
class SnpLaunchMeasurementTest {
    static final Path FIXTURES = Path.of(System.getProperty("coffer.shared", "../../shared"), "testdata/attestation/snp-measure");

    static byte[] pattern(int n, int mul, int add) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * mul + add);
        return b;
    }

    @Test
    void theGuestsSnpMeasurementIsTheReferenceValueOfTheLaunchItsCommandLineMakes(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve(GuestImage.BZIMAGE_FILE), pattern(200_000, 31, 0));
        Files.write(dir.resolve(GuestImage.INITRD_FILE), pattern(5_000, 7, 3));
        Files.write(dir.resolve(GuestImage.KERNEL_FILE), new byte[] {1, 2, 3}); // the microVM's vmlinux: not measured here
        GuestImage guest = new GuestImage(dir, "6.1.0-test", "ab".repeat(32), 10, "root=/dev/vda", "");
        SnpSettings settings = new SnpSettings(FIXTURES.resolve("ovmf_AmdSev_suffix.bin"), "EPYC-Genoa", 8, 2048, null, null, false);

        byte[] m = SnpLaunch.launchMeasurement(guest, settings);
        assertEquals("1860a8338774ef359a7aa7b4336a3e6819b6f78b5a7537df134efd31d9f7366fcc42c501a49e5cfbec1d93eafbc19f54",
                HexFormat.of().formatHex(m));
        // memory and ID block are not measured; vCPUs and their type are
        assertEquals(HexFormat.of().formatHex(m), HexFormat.of().formatHex(SnpLaunch.launchMeasurement(guest,
                new SnpSettings(settings.firmware(), "EPYC-Genoa", 8, 4096, null, null, false))));
        assertNotEquals(HexFormat.of().formatHex(m), HexFormat.of().formatHex(SnpLaunch.launchMeasurement(guest,
                new SnpSettings(settings.firmware(), "EPYC-Genoa", 7, 2048, null, null, false))));
        assertNotEquals(HexFormat.of().formatHex(m), HexFormat.of().formatHex(SnpLaunch.launchMeasurement(guest,
                new SnpSettings(settings.firmware(), "EPYC-Milan", 8, 2048, null, null, false))));

        // what is measured is what the command line passes
        SnpLaunch.Measured measured = SnpLaunch.measured(guest, settings);
        assertEquals(List.of(guest.bzImage(), guest.initrd(), "root=/dev/vda"), List.of(measured.kernel(), measured.initrd(), measured.cmdline()));
    }

    @Test
    void guestBuildEndorsesTheSnpLaunchWithTheHomeKey(@TempDir Path home) throws Exception {
        Path dir = Files.createDirectories(home.resolve("guest"));
        Files.write(dir.resolve(GuestImage.BZIMAGE_FILE), pattern(200_000, 31, 0));
        Files.write(dir.resolve(GuestImage.INITRD_FILE), pattern(5_000, 7, 3));
        GuestImage guest = new GuestImage(dir, "6.1.0-test", "ab".repeat(32), 10, "root=/dev/vda", "");
        SnpSettings settings = new SnpSettings(FIXTURES.resolve("ovmf_AmdSev_suffix.bin"), "EPYC-Genoa", 8, 2048, null, null, false);
        var entry = dev.coffer.runtime.guest.GuestEndorsements.endorseSnp(home, guest, settings);
        assertEquals("snp", entry.kind());
        assertEquals("1860a8338774ef359a7aa7b4336a3e6819b6f78b5a7537df134efd31d9f7366fcc42c501a49e5cfbec1d93eafbc19f54",
                entry.endorsement().launchMeasurement());
        assertEquals(true, entry.intact(java.time.Instant.now()));
        assertEquals(1, dev.coffer.runtime.guest.GuestEndorsements.lookup(home, entry.endorsement().launchMeasurement()).size());
    }

    @Test
    void aFirmwareThatCannotMeasureAKernelIsRefused(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve(GuestImage.BZIMAGE_FILE), new byte[16]);
        Files.write(dir.resolve(GuestImage.INITRD_FILE), new byte[16]);
        GuestImage guest = new GuestImage(dir, "6.1.0-test", "ab".repeat(32), 10, "console=ttyS0", "");
        var e = assertThrows(IllegalArgumentException.class, () -> SnpLaunch.launchMeasurement(guest,
                new SnpSettings(FIXTURES.resolve("ovmf_OvmfX64_suffix.bin"), "EPYC-v4", 1, 1024, null, null, false)));
        assertEquals(true, e.getMessage().contains("kernel"), e.getMessage());
    }
}
