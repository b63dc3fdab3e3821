package dev.coffer.agent.volume;

import java.util.Arrays;
import java.util.List;

/**
 * The kernel's active device-mapper table of an opened volume ({@code dmsetup table}): the last
 * check that what dm-crypt does is what the checked header promised, read from the kernel rather
 * than from any header. A difference (say, a {@code cipher_null} mapping) means the mapping is
 * refused and closed by the caller before anything is mounted. The key field of the table is
 * never put into a message.
 */
final class ActiveMapping {
    /** dm-crypt's name for XTS with HMAC-SHA256 tags (the crypto API's authenc template). */
    static final String AUTHENC_CIPHER = "capi:authenc(hmac(sha256),xts(aes))-plain64";

    private ActiveMapping() {}

    /** One table line: {@code start length target args...}. */
    record Line(String target, List<String> args) {
        static Line parse(String name, String table) {
            String[] lines = table.strip().split("\n");
            if (lines.length != 1 || lines[0].isBlank()) {
                throw mismatch(name, "one table line", lines.length + " lines");
            }
            String[] f = lines[0].strip().split("\\s+");
            if (f.length < 3 || !f[0].equals("0")) throw mismatch(name, "a table starting at sector 0", "a malformed table");
            return new Line(f[2], List.of(Arrays.copyOfRange(f, 3, f.length)));
        }
    }

    /** Fails unless mapping {@code name} is dm-crypt with the cipher, integrity, sector size and data offset Coffer makes. */
    static void require(String name, VolumeIntegrity integrity) {
        require(name, integrity, Luks2Header.DATA_OFFSET);
    }

    /** As {@link #require(String, VolumeIntegrity)} for data starting {@code dataOffset} bytes into the disk (0: a detached header). */
    static void require(String name, VolumeIntegrity integrity, long dataOffset) {
        String crypt = table(name);
        String dif = integrity.luksType() == null ? null : table(name + "_dif");
        check(name, crypt, dif, integrity, dataOffset);
    }

    private static String table(String name) {
        Tool.Result r = Tool.run(List.of("dmsetup", "table", name), null, 30);
        if (!r.ok()) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot read the active table of mapping " + name
                    + " (dmsetup table exited " + r.exit() + "): " + r.detail());
        }
        return r.out();
    }

    /**
     * {@code crypt}: the dm-crypt table, {@code crypt <cipher> <key> <iv_offset> <device> <offset> [n opts]};
     * {@code dif}: for an authenticated volume, the dm-integrity table below it,
     * {@code integrity <device> <offset> <tag_size> <mode> [n opts]}.
     */
    static void check(String name, String crypt, String dif, VolumeIntegrity integrity) {
        check(name, crypt, dif, integrity, Luks2Header.DATA_OFFSET);
    }

    static void check(String name, String crypt, String dif, VolumeIntegrity integrity, long dataOffset) {
        Line c = Line.parse(name, crypt);
        if (!c.target().equals("crypt")) throw mismatch(name, "target crypt", "target " + c.target());
        List<String> a = c.args();
        if (a.size() < 5) throw mismatch(name, "cipher, key, IV offset, device and offset", a.size() + " fields");
        String cipher = a.get(0);
        List<String> options = a.size() > 6 ? a.subList(6, a.size()) : List.of();
        if (!a.get(2).equals("0")) throw mismatch(name, "IV offset 0", "IV offset " + a.get(2));
        if (!options.contains("sector_size:" + EncryptedVolume.SECTOR_SIZE)) {
            throw mismatch(name, "sector_size:" + EncryptedVolume.SECTOR_SIZE, "options " + options);
        }
        long dataSectors = dataOffset / 512;
        if (integrity.luksType() == null) {
            if (!cipher.equals(Luks2Header.CIPHER)) throw mismatch(name, "cipher " + Luks2Header.CIPHER, "cipher " + cipher);
            if (!a.get(4).equals(String.valueOf(dataSectors))) throw mismatch(name, "data offset " + dataSectors + " sectors", "offset " + a.get(4));
            if (options.stream().anyMatch(o -> o.startsWith("integrity:"))) throw mismatch(name, "no integrity", "options " + options);
            return;
        }
        if (!cipher.equals(AUTHENC_CIPHER)) throw mismatch(name, "cipher " + AUTHENC_CIPHER, "cipher " + cipher);
        // the dm-integrity device below skips the LUKS2 area itself; dm-crypt starts at its sector 0
        if (!a.get(4).equals("0")) throw mismatch(name, "offset 0 on its dm-integrity device", "offset " + a.get(4));
        String tag = "integrity:" + integrity.tagBytes() + ":aead";
        if (!options.contains(tag)) throw mismatch(name, tag, "options " + options);
        if (dif == null) throw mismatch(name, "a dm-integrity device below it", "none");
        Line i = Line.parse(name + "_dif", dif);
        if (!i.target().equals("integrity")) throw mismatch(name + "_dif", "target integrity", "target " + i.target());
        List<String> ia = i.args();
        if (ia.size() < 4) throw mismatch(name + "_dif", "device, offset, tag size and mode", ia.size() + " fields");
        if (!ia.get(1).equals(String.valueOf(dataSectors))) {
            throw mismatch(name + "_dif", "data offset " + dataSectors + " sectors", "offset " + ia.get(1));
        }
        if (!ia.get(2).equals(String.valueOf(integrity.tagBytes()))) {
            throw mismatch(name + "_dif", "tag size " + integrity.tagBytes(), "tag size " + ia.get(2));
        }
    }

    private static VolumeException mismatch(String name, String expected, String found) {
        return new VolumeException(VolumeException.Reason.INVALID, "the active mapping " + name + " is not what its checked header"
                + " describes: expected " + expected + ", found " + found + "; it was closed again and nothing was mounted");
    }
}
