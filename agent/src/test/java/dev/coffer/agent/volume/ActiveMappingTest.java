package dev.coffer.agent.volume;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The active-table check on tables in the form the kernel reports them (dm-crypt and
 * dm-integrity target documentation; keys as cryptsetup's keyring references). Real tables are
 * read in the microVM, which has device-mapper.
 */
class ActiveMappingTest {
    static final String PLAIN = "0 32768 crypt aes-xts-plain64 :64:logon:cryptsetup:2f0c6a1e-0b6e-4c3e-9d55-0a3f1c2b4d5e-d0 0 7:0 32768 1 sector_size:4096\n";
    static final String AUTH = "0 28456 crypt capi:authenc(hmac(sha256),xts(aes))-plain64 :96:logon:cryptsetup:2f0c6a1e-0b6e-4c3e-9d55-0a3f1c2b4d5e-d0"
            + " 0 253:0 0 2 integrity:32:aead sector_size:4096\n";
    static final String DIF = "0 28456 integrity 7:0 32768 32 J 6 journal_sectors:1024 interleave_sectors:32768 buffer_sectors:128"
            + " journal_watermark:50 commit_time:10000 fix_padding\n";

    private static void refused(String crypt, String dif, VolumeIntegrity integrity, String phrase) {
        VolumeException e = assertThrows(VolumeException.class, () -> ActiveMapping.check("coffer-x", crypt, dif, integrity));
        assertTrue(e.getMessage().contains(phrase), e.getMessage());
        assertTrue(e.getMessage().contains("closed again and nothing was mounted"), e.getMessage());
        assertFalse(e.getMessage().contains("logon:cryptsetup"), "the key field never reaches a message: " + e.getMessage());
    }

    @Test
    void theTablesCofferMakesPass() {
        ActiveMapping.check("coffer-x", PLAIN, null, VolumeIntegrity.NONE);
        ActiveMapping.check("coffer-x", AUTH, DIF, VolumeIntegrity.HMAC_SHA256);
    }

    @Test
    void aNullCipherOrOtherwiseDifferentMappingIsRefused() {
        refused(PLAIN.replace("aes-xts-plain64 :64:logon:cryptsetup:2f0c6a1e-0b6e-4c3e-9d55-0a3f1c2b4d5e-d0", "cipher_null-ecb -"), null,
                VolumeIntegrity.NONE, "expected cipher aes-xts-plain64, found cipher cipher_null-ecb");
        refused(PLAIN.replace("sector_size:4096", "sector_size:512"), null, VolumeIntegrity.NONE, "expected sector_size:4096");
        refused(PLAIN.replace(" 7:0 32768 ", " 7:0 8192 "), null, VolumeIntegrity.NONE, "expected data offset 32768 sectors, found offset 8192");
        refused(PLAIN.replace(" 0 7:0", " 5 7:0"), null, VolumeIntegrity.NONE, "expected IV offset 0");
        refused(PLAIN.replace(" crypt ", " linear "), null, VolumeIntegrity.NONE, "expected target crypt, found target linear");
        refused(PLAIN + PLAIN, null, VolumeIntegrity.NONE, "expected one table line, found 2 lines");
        // an authenticated volume mapped without its integrity, and the other way round
        refused(PLAIN, null, VolumeIntegrity.HMAC_SHA256, "expected cipher capi:authenc(hmac(sha256),xts(aes))-plain64");
        refused(AUTH, DIF, VolumeIntegrity.NONE, "expected cipher aes-xts-plain64");
        refused(AUTH.replace("integrity:32:aead", "integrity:4:aead"), DIF, VolumeIntegrity.HMAC_SHA256, "expected integrity:32:aead");
        refused(AUTH, DIF.replace(" 7:0 32768 32 ", " 7:0 32768 4 "), VolumeIntegrity.HMAC_SHA256, "expected tag size 32, found tag size 4");
        refused(AUTH, DIF.replace(" 7:0 32768 ", " 7:0 0 "), VolumeIntegrity.HMAC_SHA256, "expected data offset 32768 sectors, found offset 0");
        refused(AUTH, DIF.replace(" integrity ", " linear "), VolumeIntegrity.HMAC_SHA256, "expected target integrity");
    }

    /** The scratch's detached header leaves no header area on the disk: dm-integrity starts at sector 0, and only there. */
    @Test
    void scratchDataStartsAtTheDisksFirstSector() {
        String scratchDif = "0 2088824 integrity 254:3 0 32 D 4 block_size:4096 interleave_sectors:32768 buffer_sectors:128 fix_padding\n";
        ActiveMapping.check("coffer-scratch", AUTH, scratchDif, VolumeIntegrity.HMAC_SHA256, 0);
        VolumeException e = assertThrows(VolumeException.class, () -> ActiveMapping.check("coffer-scratch", AUTH,
                scratchDif.replace(" 254:3 0 ", " 254:3 32768 "), VolumeIntegrity.HMAC_SHA256, 0));
        assertTrue(e.getMessage().contains("expected data offset 0 sectors, found offset 32768"), e.getMessage());
        // a plain mapping where the scratch must be authenticated
        assertThrows(VolumeException.class, () -> ActiveMapping.check("coffer-scratch", PLAIN.replace(" 7:0 32768 ", " 7:0 0 "), null,
                VolumeIntegrity.HMAC_SHA256, 0));
    }
}
