package dev.coffer.runtime.preflight;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The footer table of real OVMF builds (the last 4 KiB of edk2-stable202405's AmdSev and OvmfPkgX64 images). */
class OvmfFirmwareTest {
    static byte[] fixture(String name) throws IOException {
        return Files.readAllBytes(SnpHostTree.shared().resolve(name));
    }

    @Test
    void theAmdSevBuildOffersSnpAndKernelHashes() throws Exception {
        OvmfFirmware fw = OvmfFirmware.parse(fixture("ovmf_AmdSev_suffix.bin"));
        assertTrue(fw.supportsSnp());
        assertTrue(fw.supportsKernelHashes());
        assertArrayEquals(new long[] {0x810c00, 0x400}, fw.hashTable().orElseThrow());
        assertEquals(7, fw.sections().size());
        assertEquals(new OvmfFirmware.Section(0x810000, 0x1000, OvmfFirmware.SECTION_SNP_KERNEL_HASHES), fw.sections().get(5));
        assertEquals(new OvmfFirmware.Section(0x800000, 0x9000, 1), fw.sections().get(0));
    }

    @Test
    void theGenericBuildStartsSnpButCannotMeasureAKernel() throws Exception {
        OvmfFirmware fw = OvmfFirmware.parse(fixture("ovmf_OvmfX64_suffix.bin"));
        assertTrue(fw.supportsSnp());
        assertTrue(fw.entries().containsKey(OvmfFirmware.SEV_HASH_TABLE), "the entry is there, with zeros");
        assertTrue(fw.hashTable().isEmpty());
        assertFalse(fw.supportsKernelHashes());
        assertFalse(fw.sections().stream().anyMatch(s -> s.type() == OvmfFirmware.SECTION_SNP_KERNEL_HASHES));
    }

    @Test
    void malformedAndTamperedTablesAreRefusedWithWhatWasFound() throws Exception {
        byte[] good = fixture("ovmf_AmdSev_suffix.bin");
        int footer = good.length - 32 - 18;
        assertTrue(message(new byte[40]).contains("found only 40 bytes"));
        byte[] guid = good.clone();
        guid[footer + 2] ^= 1;
        assertTrue(message(guid).contains("footer table GUID"), message(guid));
        byte[] tableSize = good.clone();
        tableSize[footer] = (byte) 0xff;
        tableSize[footer + 1] = (byte) 0xff;
        assertTrue(message(tableSize).contains("footer table size"), message(tableSize));
        byte[] entrySize = good.clone();
        entrySize[footer - 18] = 3; // the last entry before the footer claims 3 bytes
        entrySize[footer - 17] = 0;
        assertTrue(message(entrySize).contains("entry"), message(entrySize));
        byte[] metadata = good.clone();
        // the SEV metadata entry's offset (dc886566...) made to point before the image
        int at = indexOf(metadata, new byte[] {0x54, 0x05, 0x00, 0x00, 0x16, 0x00});
        metadata[at + 1] = 0x7f;
        assertTrue(message(metadata).contains("SEV metadata"), message(metadata));
        byte[] signature = good.clone();
        signature[good.length - 0x554] ^= 1;
        assertTrue(message(signature).contains("ASEV"), message(signature));
    }

    static String message(byte[] image) {
        return assertThrows(IOException.class, () -> OvmfFirmware.parse(image)).getMessage();
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("pattern not in fixture: " + List.of(needle));
    }
}
