package dev.coffer.attest.snp;

import dev.coffer.attest.TestData;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

class SnpReportTest {
    static final HexFormat HEX = HexFormat.of();

    @Test
    void parsesEveryFieldOfTheGoSevGuestMilanReport() {
        SnpReport r = TestData.GO_SEV_GUEST.report();
        assertEquals(2, r.version());
        assertEquals(0, r.guestSvn());
        assertEquals(0xb0000L, r.policy().raw());
        assertTrue(r.policy().debug());
        assertTrue(r.policy().smt());
        assertFalse(r.policy().migrationAgent());
        assertEquals(0, r.vmpl());
        assertEquals(1, r.signatureAlgorithm());
        assertEquals(SigningKey.VCEK, r.signingKey());
        assertFalse(r.maskChipKey());
        assertFalse(r.authorKeyEnabled());
        assertEquals(1, r.platformInfo().raw());
        assertTrue(r.platformInfo().smtEnabled());
        for (TcbVersion t : new TcbVersion[] {r.currentTcb(), r.reportedTcb(), r.committedTcb(), r.launchTcb()}) {
            assertEquals("0200000000000544", t.hex());
        }
        TcbVersion t = r.reportedTcb();
        assertEquals(TcbLayout.MILAN_GENOA, t.layout());
        assertEquals(2, t.bootloader());
        assertEquals(0, t.tee());
        assertEquals(5, t.snp());
        assertEquals(0x44, t.microcode());
        assertEquals(-1, t.fmc());
        assertEquals(new FirmwareVersion(1, 49, 3), r.currentFirmware());
        assertEquals("01020304050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
                HEX.formatHex(r.reportData()));
        assertEquals("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01", HEX.formatHex(r.measurement()));
        assertEquals("0".repeat(64), HEX.formatHex(r.hostData()));
        assertEquals("0".repeat(96), HEX.formatHex(r.idKeyDigest()));
        assertEquals("8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a", HEX.formatHex(r.reportId()));
        assertEquals("3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d",
                HEX.formatHex(r.chipId()));
        assertTrue(r.cpuProduct().isEmpty(), "version 2 reports carry no CPUID");
    }

    @Test
    void trusteeReportHasAnIdBlockAndADifferentCurrentTcb() {
        SnpReport r = TestData.TRUSTEE.report();
        assertEquals(4, r.guestSvn());
        assertEquals(0x3001fL, r.policy().raw());
        assertEquals(0x1f, r.policy().abiMinor());
        assertEquals("03000000000008ce", r.currentTcb().hex());
        assertEquals("0300000000000873", r.reportedTcb().hex());
        assertEquals(0xce, r.currentTcb().microcode());
        assertEquals("0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3", HEX.formatHex(r.idKeyDigest()));
        assertEquals("385eba81216de4776548fcb86f8ead03c1ebc92b6207f3210d9ccebb89c99005", HEX.formatHex(r.reportId()));
        assertEquals(new FirmwareVersion(1, 52, 4), r.currentFirmware());
    }

    @Test
    void parsesTheVersion5GenoaReportWithCpuid() {
        SnpReport r = TestData.OAK_GENOA.report();
        assertEquals(5, r.version());
        assertEquals(25, r.cpuidFamily());
        assertEquals(17, r.cpuidModel());
        assertEquals(1, r.cpuidStepping());
        assertEquals(Product.GENOA, r.cpuProduct().orElseThrow());
        assertEquals(0x25, r.platformInfo().raw());
        assertEquals("0a00000000001954", r.reportedTcb().hex());
        assertEquals(10, r.reportedTcb().bootloader());
        assertEquals(0x19, r.reportedTcb().snp());
        assertEquals(0x54, r.reportedTcb().microcode());
        assertEquals(new FirmwareVersion(1, 55, 43), r.currentFirmware());
        assertEquals("c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc", HEX.formatHex(r.measurement()));
        assertEquals("8100555af0ad8e7525be6dffeed0af83e30bbacbf03b76e175e6894d1ed057ce" + "0".repeat(64), HEX.formatHex(r.reportData()));
    }

    @Test
    void decodesHexReportsWithWhitespace() {
        SnpReport fromHex = TestData.VIRTEE.report();
        assertEquals("7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f", HEX.formatHex(fromHex.measurement()));
        String wrapped = "0x" + HEX.formatHex(fromHex.raw()).replaceAll("(.{64})", "$1\n");
        assertEquals(fromHex, SnpReport.decode(wrapped.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void turinLayoutDecodesFmcFirst() {
        byte[] raw = HEX.parseHex("0102030400000005");
        TcbVersion t = TcbVersion.decode(raw, 0, TcbLayout.TURIN);
        assertEquals(1, t.fmc());
        assertEquals(2, t.bootloader());
        assertEquals(3, t.tee());
        assertEquals(4, t.snp());
        assertEquals(5, t.microcode());
        assertArrayEquals(raw, TcbVersion.of(TcbLayout.TURIN, 1, 2, 3, 4, 5).bytes());
        assertEquals(Product.TURIN, Product.fromCpuid(0x1A, 0x02).orElseThrow());
    }

    @Test
    void truncatedAndOversizedReportsSayHowManyBytesAreWrong() {
        byte[] raw = TestData.GO_SEV_GUEST.report().raw();
        var truncated = assertThrows(SnpReportFormatException.class, () -> SnpReport.parse(Arrays.copyOf(raw, 1000)));
        assertTrue(truncated.getMessage().contains("exactly 1184 bytes, found 1000 (truncated: 184 bytes missing)"), truncated.getMessage());
        var oversized = assertThrows(SnpReportFormatException.class, () -> SnpReport.parse(Arrays.copyOf(raw, 1200)));
        assertTrue(oversized.getMessage().contains("found 1200 (oversized: 16 extra bytes)"), oversized.getMessage());
        var empty = assertThrows(SnpReportFormatException.class, () -> SnpReport.parse(new byte[0]));
        assertTrue(empty.getMessage().contains("found 0"), empty.getMessage());
        var oddHex = assertThrows(SnpReportFormatException.class, () -> SnpReport.decode("abc".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(oddHex.getMessage().contains("odd number"), oddHex.getMessage());
        var shortHex = assertThrows(SnpReportFormatException.class, () -> SnpReport.decode(HEX.formatHex(Arrays.copyOf(raw, 100)).getBytes(StandardCharsets.US_ASCII)));
        assertTrue(shortHex.getMessage().contains("found 100"), shortHex.getMessage());
    }

    @Test
    void unsupportedVersionsAreRefused() {
        for (int version : new int[] {0, 1, 4, 6, 0x7fffffff}) {
            byte[] raw = TestData.GO_SEV_GUEST.report().raw();
            raw[0] = (byte) version;
            raw[3] = (byte) (version >>> 24);
            var e = assertThrows(SnpReportFormatException.class, () -> SnpReport.parse(raw));
            assertTrue(e.getMessage().contains("expected 2, 3 or 5"), e.getMessage());
        }
    }

    @Test
    void builderLaysOutFieldsAtTheirOffsets() {
        byte[] measurement = new byte[48];
        Arrays.fill(measurement, (byte) 0x11);
        byte[] host = new byte[32];
        Arrays.fill(host, (byte) 0x22);
        byte[] data = new byte[64];
        data[63] = 7;
        TcbVersion tcb = TcbVersion.of(TcbLayout.MILAN_GENOA, -1, 3, 0, 8, 0x73);
        byte[] raw = new SnpReportBuilder(3).policy(0x30000).measurement(measurement).hostData(host).reportData(data)
                .tcb(tcb).cpuid(0x19, 0x01, 1).signingKey(SigningKey.VCEK).build(new byte[72], new byte[72]);
        SnpReport r = SnpReport.parse(raw);
        assertEquals(3, r.version());
        assertArrayEquals(measurement, r.measurement());
        assertArrayEquals(host, r.hostData());
        assertArrayEquals(data, r.reportData());
        assertEquals(tcb, r.reportedTcb());
        assertEquals(Product.MILAN, r.cpuProduct().orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> new SnpReportBuilder(3).hostData(new byte[31]));
    }
}
