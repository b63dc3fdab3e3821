package dev.coffer.agent.tee;

import dev.coffer.attest.sim.SimulatedSecureProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** There is no SEV-SNP hardware here: these tests cover detection, the error paths and the table format. */
class SnpEvidenceSourceTest {

    @Test
    void saysPlainlyWhenThereIsNoSevSnpGuestInterface(@TempDir Path root) {
        TeeException e = assertThrows(TeeException.class, () -> SnpEvidenceSource.detect(root));
        assertTrue(e.getMessage().startsWith("no SEV-SNP guest interface found"), e.getMessage());
        assertTrue(e.getMessage().contains("configfs-tsm") && e.getMessage().contains("sev-guest"), e.getMessage());
    }

    @Test
    void thisMachineIsNotASevSnpGuest() {
        // The real root: a CI host or laptop has neither interface (a SEV-SNP guest would have one).
        if (Files.exists(Path.of("/dev/sev-guest")) || Files.isDirectory(Path.of("/sys/kernel/config/tsm/report"))) return;
        TeeException e = assertThrows(TeeException.class, () -> TeeSources.open("snp", null, "web"));
        assertTrue(e.getMessage().startsWith("no SEV-SNP guest interface found"), e.getMessage());
    }

    @Test
    void configfsWithoutAProviderAnswerFailsPrecisely(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve(SnpEvidenceSource.CONFIGFS_TSM));
        SnpEvidenceSource source = SnpEvidenceSource.detect(root);
        assertTrue(source.interfaceDescription().startsWith("configfs-tsm "));
        // A plain directory is not configfs: writing inblob makes no outblob appear.
        TeeException e = assertThrows(TeeException.class, () -> source.evidence(new byte[64]));
        assertTrue(e.getMessage().contains("could not produce a report through configfs-tsm"), e.getMessage());
        try (var entries = Files.list(root.resolve(SnpEvidenceSource.CONFIGFS_TSM))) {
            assertEquals(0, entries.filter(p -> Files.isDirectory(p) && isEmpty(p)).count(), "the report entry is removed");
        }
        assertThrows(IllegalArgumentException.class, () -> source.evidence(new byte[63]));
    }

    private static boolean isEmpty(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void aDeviceThatIsNoSevGuestDriverFailsPrecisely(@TempDir Path root) throws Exception {
        Path dev = root.resolve(SnpEvidenceSource.SEV_GUEST);
        Files.createDirectories(dev.getParent());
        Files.writeString(dev, "not a device");
        SnpEvidenceSource source = SnpEvidenceSource.detect(root);
        assertTrue(source.interfaceDescription().startsWith("sev-guest "));
        TeeException e = assertThrows(TeeException.class, () -> source.evidence(new byte[64]));
        assertTrue(e.getMessage().contains("SNP_GET_REPORT") || e.getMessage().contains("cannot open"), e.getMessage());
    }

    @Test
    void ioctlNumberIsTheKernels() {
        assertEquals(0xC0205300L, SnpEvidenceSource.SNP_GET_REPORT);
    }

    @Test
    void certificateTableRoundTripsInVerifierOrder(@TempDir Path dir) throws Exception {
        SimulatedSecureProcessor chip = SimulatedSecureProcessor.openOrCreate(dir.resolve("sim"));
        byte[] table = table(Map.of(CertTable.ARK, chip.ark().der(), CertTable.VCEK, chip.vcek().der(),
                CertTable.ASK, chip.ask().der()));
        Map<UUID, byte[]> parsed = CertTable.parse(table);
        assertArrayEquals(chip.vcek().der(), parsed.get(CertTable.VCEK));
        assertEquals(chip.vcekPem() + chip.chainPem(), CertTable.toPem(table));
        // the known GUID's stored bytes, as the GHCB spec lists them for the VCEK
        assertEquals("8d75da6364e66445adc5f4b93be8accd", java.util.HexFormat.of().formatHex(CertTable.guidBytes(CertTable.VCEK)));
    }

    @Test
    void malformedCertificateTablesAreRefused() {
        assertThrows(TeeException.class, () -> CertTable.parse(new byte[10]));
        ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        b.put(CertTable.guidBytes(CertTable.VCEK)).putInt(48).putInt(1000);
        TeeException e = assertThrows(TeeException.class, () -> CertTable.parse(b.array()));
        assertTrue(e.getMessage().contains("malformed table"), e.getMessage());
    }

    static byte[] table(Map<UUID, byte[]> certs) {
        int header = (certs.size() + 1) * 24;
        ByteBuffer h = ByteBuffer.allocate(header).order(ByteOrder.LITTLE_ENDIAN);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (var e : certs.entrySet()) {
            h.put(CertTable.guidBytes(e.getKey())).putInt(header + body.size()).putInt(e.getValue().length);
            body.writeBytes(e.getValue());
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(h.array());
        all.writeBytes(body.toByteArray());
        return all.toByteArray();
    }
}
