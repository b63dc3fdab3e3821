package dev.coffer.attest.measure.snp;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.attest.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** The firmware fixtures parse to the metadata vectors.json decodes; damaged firmware gets a precise refusal. */
class OvmfFirmwareTest {
    static final String AMDSEV = "ovmf_AmdSev_suffix.bin";
    static final String OVMFX64 = "ovmf_OvmfX64_suffix.bin";
    static final VcpuSignature EPYC_V4 = VcpuSignature.ofType("EPYC-v4");
    static final DirectBoot EMPTY_BOOT = DirectBoot.of(new byte[0], null, null);

    static byte[] amdSev() {
        return TestData.read(SnpMeasureVectors.DIR + AMDSEV);
    }

    /** Offset of the SEV metadata header in the AmdSev fixture, from its footer entry (0x554 from the end). */
    static int metadataOffset(byte[] image) {
        return image.length - 0x554;
    }

    @Test
    void fixturesParseToTheDecodedMetadata() {
        JsonNode decoded = SnpMeasureVectors.root().get("decoded_firmware_metadata");
        for (String name : List.of(AMDSEV, OVMFX64)) {
            OvmfFirmware fw = SnpMeasureVectors.firmware(name);
            JsonNode d = decoded.get(name);
            assertEquals(Long.decode(d.get("gpa").asText()), fw.gpa(), name);
            List<String> expected = new ArrayList<>();
            d.get("metadata_sections").forEach(s -> expected.add(s.get(0).asText() + "/" + s.get(1).asText() + "/" + s.get(2).asText()));
            List<String> actual = fw.sections().stream().map(s -> "0x" + Long.toHexString(s.gpa()) + "/0x" + Long.toHexString(s.size())
                    + "/" + switch (s.type()) {
                        case SNP_SEC_MEMORY -> "SNP_SEC_MEM(1)";
                        case SNP_SECRETS -> "SNP_SECRETS(2)";
                        case CPUID -> "CPUID(3)";
                        case SVSM_CAA -> "SVSM_CAA(4)";
                        case SNP_KERNEL_HASHES -> "SNP_KERNEL_HASHES(0x10)";
                    }).toList();
            assertEquals(expected, actual, name);
            assertEquals(0x80b004L, fw.apResetEip().orElseThrow(), name);
        }
        OvmfFirmware amd = SnpMeasureVectors.firmware(AMDSEV);
        assertEquals(0x810c00L, amd.hashesTableGpa());
        assertTrue(amd.supportsKernelHashes());
        assertFalse(SnpMeasureVectors.firmware(OVMFX64).supportsKernelHashes());
        assertTrue(amd.footerGuids().containsAll(List.of(OvmfFirmware.SEV_ES_RESET_BLOCK_GUID, OvmfFirmware.SEV_HASH_TABLE_GUID,
                OvmfFirmware.SEV_METADATA_GUID, "4c2eb361-7d9b-4cc3-8081-127c90d3d294")));
    }

    @Test
    void whatThePreflightAsksOfAFirmware() {
        OvmfFirmware amd = SnpMeasureVectors.firmware(AMDSEV);
        assertTrue(amd.supportsSnp());
        assertTrue(amd.supportsKernelHashes());
        assertEquals(0x810c00, amd.hashesTableGpa());
        assertEquals(0x400, amd.hashesTableSize());
        assertTrue(amd.section(SectionType.SNP_KERNEL_HASHES).isPresent());
        OvmfFirmware generic = SnpMeasureVectors.firmware(OVMFX64);
        assertFalse(generic.supportsKernelHashes());
        assertEquals(0, generic.hashesTableSize());
        assertTrue(generic.section(SectionType.SNP_KERNEL_HASHES).isEmpty());
    }

    @Test
    void aFirmwareWithoutKernelHashesRefusesAKernelInEveryMode() {
        OvmfFirmware fw = SnpMeasureVectors.firmware(OVMFX64);
        for (SevMode mode : SevMode.values()) {
            LaunchInputs in = new LaunchInputs(mode, fw, Optional.empty(), Optional.of(EMPTY_BOOT), 1, EPYC_V4, VmmType.QEMU, 1);
            FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> LaunchDigestCalculator.compute(in), mode.name());
            assertTrue(e.getMessage().contains("kernel was given"), e.getMessage());
            assertTrue(e.getMessage().contains("AmdSevX64.dsc"), e.getMessage());
        }
    }

    @Test
    void truncatedFirmwareIsRefused() {
        byte[] image = amdSev();
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(Arrays.copyOf(image, 3000)));
        assertTrue(e.getMessage().contains("3000 bytes") && e.getMessage().contains("whole number of 4096-byte pages"), e.getMessage());
        assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(new byte[0]));
    }

    @Test
    void firmwareCutBeforeItsFooterHasNoFooterTableAndCannotBeMeasuredForSnp() {
        // The first page of a two-page image whose end (and footer) was lost: page-aligned, but no footer.
        byte[] image = new byte[8192];
        System.arraycopy(amdSev(), 0, image, 0, 4096);
        OvmfFirmware fw = OvmfFirmware.parse(image);
        assertFalse(fw.hasFooterTable());
        assertTrue(fw.sections().isEmpty());
        LaunchInputs in = LaunchInputs.snp(fw, Optional.empty(), 1, EPYC_V4);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> LaunchDigestCalculator.compute(in));
        assertTrue(e.getMessage().contains("no OVMF footer table") && e.getMessage().contains(OvmfFirmware.FOOTER_TABLE_GUID), e.getMessage());
    }

    @Test
    void noFooterGuidRefusesSnpAndSevEsAndAKernelButSevStillHashesTheImage() {
        byte[] image = amdSev();
        image[image.length - 32 - 16] ^= 0x01; // a byte of the footer GUID
        OvmfFirmware fw = OvmfFirmware.parse(image);
        assertFalse(fw.hasFooterTable());
        for (SevMode mode : List.of(SevMode.SNP, SevMode.SEV_ES)) {
            LaunchInputs in = new LaunchInputs(mode, fw, Optional.empty(), Optional.empty(), 1, EPYC_V4, VmmType.QEMU, 1);
            FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> LaunchDigestCalculator.compute(in));
            assertTrue(e.getMessage().contains("no OVMF footer table"), e.getMessage());
        }
        LaunchInputs sevKernel = new LaunchInputs(SevMode.SEV, fw, Optional.empty(), Optional.of(EMPTY_BOOT), 1, null, VmmType.QEMU, 1);
        assertTrue(assertThrows(FirmwareFormatException.class, () -> LaunchDigestCalculator.compute(sevKernel)).getMessage()
                .contains("footer table is missing"));
        // Plain SEV measures the image alone, as the secure processor does: the footer plays no part.
        LaunchInputs sev = new LaunchInputs(SevMode.SEV, fw, Optional.empty(), Optional.empty(), 1, null, VmmType.QEMU, 1);
        assertEquals(32, LaunchDigestCalculator.compute(sev).measurement().length);
    }

    @Test
    void badMetadataSignatureIsRefused() {
        byte[] image = amdSev();
        image[metadataOffset(image)] = 'X';
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("signature 'XSEV'") && e.getMessage().contains("expected 'ASEV'"), e.getMessage());
    }

    @Test
    void badMetadataVersionIsRefused() {
        byte[] image = amdSev();
        le32(image, metadataOffset(image) + 8, 2);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("version is 2; expected 1"), e.getMessage());
    }

    @Test
    void metadataClaimingMoreSectionsThanFitIsRefused() {
        byte[] image = amdSev();
        le32(image, metadataOffset(image) + 12, 0x10000000);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("268435456 sections") && e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void metadataWithHundredsOfSectionsIsRefused() {
        // 300 sections would fit in the image, but no OVMF declares so many.
        byte[] image = new byte[16 * 4096];
        byte[] fixture = amdSev();
        System.arraycopy(fixture, 0, image, image.length - fixture.length, fixture.length);
        int header = metadataOffset(image);
        // Move the header 300*12 bytes earlier by pointing the footer entry further from the end.
        int moved = header - 300 * 12;
        System.arraycopy(image, header, image, moved, 16);
        le32(image, moved + 4, 16 + 300 * 12);
        le32(image, moved + 12, 300);
        int entry = indexOf(image, Guid.bytes(OvmfFirmware.SEV_METADATA_GUID)) - 2 - 4;
        le32(image, entry, image.length - moved);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("declares 300 sections"), e.getMessage());
    }

    @Test
    void overlappingSectionsAreRefused() {
        byte[] image = amdSev();
        // Section 1 (SEC memory at 0x80a000) moved into section 0 ([0x800000, 0x809000)).
        le32(image, metadataOffset(image) + 16 + 12, 0x808000);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("sections overlap") && e.getMessage().contains("0x800000") && e.getMessage().contains("0x808000"),
                e.getMessage());
    }

    @Test
    void unknownSectionTypeAndUnalignedSectionsAreRefused() {
        byte[] image = amdSev();
        le32(image, metadataOffset(image) + 16 + 8, 7);
        assertTrue(assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image)).getMessage().contains("type 0x7"));
        byte[] unaligned = amdSev();
        le32(unaligned, metadataOffset(unaligned) + 16 + 4, 0x8fff);
        assertTrue(assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(unaligned)).getMessage().contains("page-aligned"));
    }

    @Test
    void corruptFooterTableSizesAreRefused() {
        byte[] image = amdSev();
        int footer = image.length - 32 - 18;
        le16(image, footer, 0xffff);
        assertTrue(assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image)).getMessage().contains("footer is corrupt"));
        byte[] entry = amdSev();
        le16(entry, footer - 18, 3); // the last entry before the footer declares less than its own header
        assertTrue(assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(entry)).getMessage().contains("footer table is corrupt"));
    }

    @Test
    void metadataOffsetOutsideTheImageIsRefused() {
        byte[] image = amdSev();
        // The metadata entry's body is its offset from the end; find it by GUID and point it past the start.
        int at = indexOf(image, Guid.bytes(OvmfFirmware.SEV_METADATA_GUID)) - 2 - 4;
        le32(image, at, 0x100000);
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> OvmfFirmware.parse(image));
        assertTrue(e.getMessage().contains("points outside"), e.getMessage());
    }

    @Test
    void firmwareWithoutSevMetadataIsRefusedForSnpButMeasuredForSevEs() {
        // As Debian's OVMF_CODE_4M.fd: a footer table with the SEV-ES reset block, but no SEV metadata entry.
        byte[] image = amdSev();
        image[indexOf(image, Guid.bytes(OvmfFirmware.SEV_METADATA_GUID))] ^= 0x01;
        OvmfFirmware fw = OvmfFirmware.parse(image);
        assertTrue(fw.hasFooterTable());
        assertTrue(fw.sections().isEmpty());
        FirmwareFormatException e = assertThrows(FirmwareFormatException.class,
                () -> LaunchDigestCalculator.compute(LaunchInputs.snp(fw, Optional.empty(), 1, EPYC_V4)));
        assertTrue(e.getMessage().contains("no SEV metadata") && e.getMessage().contains("refuses an SNP launch"), e.getMessage());
        LaunchInputs seves = new LaunchInputs(SevMode.SEV_ES, fw, Optional.empty(), Optional.empty(), 2, EPYC_V4, VmmType.QEMU, 1);
        assertEquals(32, LaunchDigestCalculator.compute(seves).measurement().length);
    }

    @Test
    void readsFromAFileAndRefusesAMissingOne(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("OVMF.fd");
        Files.write(f, amdSev());
        assertEquals(LaunchDigestCalculator.firmwareDigest(SnpMeasureVectors.firmware(AMDSEV)).length, 48);
        assertArrayEquals(LaunchDigestCalculator.firmwareDigest(SnpMeasureVectors.firmware(AMDSEV)),
                LaunchDigestCalculator.firmwareDigest(OvmfFirmware.read(f)));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> OvmfFirmware.read(tmp.resolve("missing.fd")));
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = hay.length - needle.length; i >= 0; i--) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    static void le32(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
    }

    static void le16(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(at, (short) v);
    }
}
