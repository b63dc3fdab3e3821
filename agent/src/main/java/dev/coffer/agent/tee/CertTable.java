package dev.coffer.agent.tee;

import dev.coffer.attest.cert.Certificates;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The certificate table a SEV-SNP host attaches to an extended report (configfs-tsm's
 * {@code auxblob}, GHCB spec "SNP Extended Guest Request"): entries of GUID (16 bytes, EFI
 * mixed-endian), offset and length (u32 little-endian, relative to the table's start),
 * terminated by an all-zero entry. We turn it into the PEM bundle a verifier takes: the
 * endorsement key (VCEK or VLEK) first, then ASK/ASVK, then ARK.
 */
final class CertTable {
    static final UUID VCEK = UUID.fromString("63da758d-e664-4564-adc5-f4b93be8accd");
    static final UUID VLEK = UUID.fromString("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    static final UUID ASK = UUID.fromString("4ab7b379-bbac-4fe4-a02f-05aef327c782");
    static final UUID ARK = UUID.fromString("c0b406a4-a803-4952-9743-3fb6014cd0ae");
    private static final List<UUID> ORDER = List.of(VCEK, VLEK, ASK, ARK);
    private static final int ENTRY = 24;

    private CertTable() {}

    /** PEM bundle of the known certificates in the table; unknown GUIDs are skipped. */
    static String toPem(byte[] table) {
        Map<UUID, byte[]> certs = parse(table);
        StringBuilder pem = new StringBuilder();
        for (UUID id : ORDER) {
            byte[] der = certs.get(id);
            if (der != null) pem.append(Certificates.toPem(der));
        }
        return pem.toString();
    }

    static Map<UUID, byte[]> parse(byte[] table) {
        Map<UUID, byte[]> out = new LinkedHashMap<>();
        ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; ; at += ENTRY) {
            if (at + ENTRY > table.length) {
                throw new TeeException("the SEV-SNP certificate table (" + table.length + " bytes) has no terminating entry;"
                        + " the host supplied a malformed table");
            }
            UUID id = guid(table, at);
            long offset = Integer.toUnsignedLong(b.getInt(at + 16));
            long length = Integer.toUnsignedLong(b.getInt(at + 20));
            if (id.getMostSignificantBits() == 0 && id.getLeastSignificantBits() == 0 && offset == 0 && length == 0) return out;
            if (offset + length > table.length || offset < at + ENTRY) {
                throw new TeeException("the SEV-SNP certificate table entry " + id + " points at bytes " + offset + ".."
                        + (offset + length) + " of a " + table.length + "-byte table; the host supplied a malformed table");
            }
            byte[] der = new byte[(int) length];
            System.arraycopy(table, (int) offset, der, 0, (int) length);
            out.put(id, der);
        }
    }

    /** EFI GUIDs keep their first three groups little-endian. */
    static UUID guid(byte[] t, int at) {
        byte[] be = new byte[16];
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int i = 0; i < 16; i++) be[i] = t[at + order[i]];
        ByteBuffer bb = ByteBuffer.wrap(be);
        return new UUID(bb.getLong(), bb.getLong());
    }

    /** The table bytes of {@code id} as stored (for building tables in tests). */
    static byte[] guidBytes(UUID id) {
        byte[] be = ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits()).array();
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        byte[] le = new byte[16];
        for (int i = 0; i < 16; i++) le[order[i]] = be[i];
        return le;
    }

}
